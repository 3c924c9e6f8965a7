#!/usr/bin/env python3
"""An independent OCPI eMSP for evgate's tests: Python's standard library
only, raw JSON as the OCPI 2.2.1/2.3.0 specifications show it (no evgate
types). It serves its own versions, version details and Locations receiver,
and is driven by JSON lines on stdin; each command's result is one JSON line
on stdout. Every call evgate makes to it must carry its token B, Base64
encoded (OCPI 2.2.1 transport), or it answers 401.

Commands: register, update, unregister, call, patches, down, up, and
authorizer (what its Tokens sender answers a real-time authorization of a
uid: POST {tokens}/{uid}/authorize; an unknown uid gets 404 with 2004).
"""
import base64
import json
import secrets
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"token_b": None, "token_c": None, "endpoints": {}, "received": [], "down": False,
         "version": "2.2.1", "authorize": {}}
LOCK = threading.Lock()


def envelope(data, code=1000, message="Success"):
    return {"data": data, "status_code": code, "status_message": message,
            "timestamp": "2026-12-03T00:00:00Z"}


class Emsp(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def authorized(self):
        token = STATE["token_b"]
        want = "Token " + base64.b64encode(token.encode()).decode() if token else None
        return want is not None and self.headers.get("Authorization") == want

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        base = f"http://127.0.0.1:{self.server.server_port}/ocpi"
        ok = self.authorized()
        with LOCK:
            STATE["received"].append({"method": method, "path": self.path, "body": body,
                                      "authorized": ok, "refused": STATE["down"],
                                      "from": self.headers.get("OCPI-from-party-id")})
        if not ok:
            return self.reply(401, envelope(None, 2000, "unknown token"))
        if self.path == "/ocpi/versions" and method == "GET":
            return self.reply(200, envelope([{"version": v, "url": f"{base}/{v}"}
                                             for v in ("2.2.1", "2.3.0")]))
        for v in ("2.2.1", "2.3.0"):
            if self.path == f"/ocpi/{v}" and method == "GET":
                endpoints = [
                    {"identifier": "credentials", "role": "SENDER", "url": f"{base}/{v}/credentials"},
                    {"identifier": "locations", "role": "RECEIVER", "url": f"{base}/{v}/emsp/locations"},
                    {"identifier": "sessions", "role": "RECEIVER", "url": f"{base}/{v}/emsp/sessions"},
                    {"identifier": "cdrs", "role": "RECEIVER", "url": f"{base}/{v}/emsp/cdrs"},
                    {"identifier": "tokens", "role": "SENDER", "url": f"{base}/{v}/emsp/tokens/"},
                ]
                if v == "2.3.0":
                    # The draft's spelling of the Bookings module.
                    endpoints.append({"identifier": "Booking", "role": "RECEIVER",
                                      "url": f"{base}/{v}/emsp/bookings"})
                return self.reply(200, envelope({"version": v, "endpoints": endpoints}))
        path = self.path.split("?")[0]
        if "/emsp/tokens/" in path and path.endswith("/authorize") and method == "POST":
            if STATE["down"]:
                return self.reply(503, {"error": "down for maintenance"})
            uid = urllib.parse.unquote(path.split("/")[-2])
            known = STATE["authorize"].get(uid)
            if known is None:
                return self.reply(404, envelope(None, 2004, "Unknown Token"))
            info = {"allowed": known["allowed"], "token": known["token"],
                    "authorization_reference": "AUTH-" + uid}
            if body and body.get("location_id"):
                info["location"] = {"location_id": body["location_id"]}
            return self.reply(200, envelope(info))
        if "/emsp/" in self.path and method in ("PATCH", "PUT", "POST"):
            if STATE["down"]:
                return self.reply(503, {"error": "down for maintenance"})
            return self.reply(200, envelope(None))
        return self.reply(404, envelope(None, 2000, "no such endpoint"))

    def do_GET(self):
        self.handle_any("GET")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_POST(self):
        self.handle_any("POST")


def call(method, url, token, body=None, encode=True):
    """One request to evgate; its status, headers and JSON body."""
    headers = {"X-Request-ID": secrets.token_hex(8), "X-Correlation-ID": secrets.token_hex(8)}
    if token is not None:
        headers["Authorization"] = "Token " + (
            base64.b64encode(token.encode()).decode() if encode else token)
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, dict(e.headers), e.read()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    hdrs = {k.lower(): v for k, v in hdrs.items()}
    return {"status": status, "headers": hdrs, "body": parsed,
            "echoed": hdrs.get("x-correlation-id") == headers["X-Correlation-ID"]}


def credentials(own_versions):
    STATE["token_b"] = secrets.token_urlsafe(24)
    return {"token": STATE["token_b"], "url": own_versions, "roles": [{
        "role": "EMSP", "party_id": "TMS", "country_code": "NL",
        "business_details": {"name": "Test eMSP"}}]}


def handshake(cmd, own_versions, method):
    """GET versions and details with the token given, then POST/PUT the
    Credentials to the credentials endpoint of the version asked for."""
    token = cmd["token"]
    versions = call("GET", cmd["versions"], token, encode=cmd.get("encode", True))
    if versions["status"] != 200:
        return {"step": "versions", **versions}
    chosen = [v for v in versions["body"]["data"] if v["version"] == cmd.get("version", "2.2.1")]
    details = call("GET", chosen[0]["url"], token, encode=cmd.get("encode", True))
    endpoints = {e["identifier"] + ":" + e["role"]: e["url"] for e in details["body"]["data"]["endpoints"]}
    STATE["endpoints"] = endpoints
    STATE["version"] = cmd.get("version", "2.2.1")
    body = cmd.get("body") or credentials(own_versions)
    answer = call(method, endpoints["credentials:SENDER"], token, body, cmd.get("encode", True))
    if answer["status"] == 200 and answer["body"].get("status_code") == 1000:
        STATE["token_c"] = answer["body"]["data"]["token"]
    answer["endpoints"] = endpoints
    return answer


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Emsp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    own_versions = f"http://127.0.0.1:{server.server_port}/ocpi/versions"
    print(json.dumps({"ready": True, "versions": own_versions}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["cmd"]
        if op == "register":
            out = handshake(cmd, own_versions, "POST")
        elif op == "update":
            out = handshake(dict(cmd, token=STATE["token_c"]), own_versions, "PUT")
        elif op == "unregister":
            out = call("DELETE", STATE["endpoints"]["credentials:SENDER"], STATE["token_c"])
        elif op == "call":
            token = cmd.get("token", STATE["token_c"])
            url = cmd.get("url") or STATE["endpoints"][cmd["endpoint"]] + cmd.get("path", "")
            out = call(cmd.get("method", "GET"), url, token, cmd.get("body"), cmd.get("encode", True))
        elif op == "patches":
            with LOCK:
                out = {"received": [r for r in STATE["received"] if r["method"] in ("PATCH", "PUT")]}
        elif op == "bookings_received":
            with LOCK:
                out = {"received": [r for r in STATE["received"]
                                    if "/emsp/bookings/" in r["path"]]}
        elif op == "received":
            with LOCK:
                out = {"received": [r for r in STATE["received"] if cmd["path"] in r["path"]]}
        elif op == "base":
            out = {"base": own_versions.rsplit("/", 1)[0]}
        elif op == "down":
            STATE["down"] = True
            out = {}
        elif op == "up":
            STATE["down"] = False
            out = {}
        elif op == "credentials":
            # For a CPO driven in process: the Credentials to POST, token B
            # new (evgate's calls back must carry it).
            out = credentials(own_versions)
        elif op == "authorizer":
            STATE["authorize"][cmd["uid"]] = {"allowed": cmd["allowed"], "token": cmd["token"]}
            out = {}
        elif op == "token_c":
            out = {"token": STATE["token_c"]}
        else:
            out = {"error": f"unknown command {op}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()

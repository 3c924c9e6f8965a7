"""A real OCPP charge point (PyPI `ocpp` 2.1.0) for evgate's end-to-end tests.

    python3 charger.py URL VERSION RESERVE_ANSWER SECONDS

Commands on standard input, one per line, each answered with one JSON line
{"result": ...}:
    start CONNECTOR ID_TAG RESERVATION_ID [TRANSACTION_ID]
                                            (RESERVATION_ID may be "-"; 2.0.1: the
                                            transaction's id, default py-tx-N)
    stop TRANSACTION_ID METER_WH            (2.0.1: answered with the totalCost evgate said)
    update TRANSACTION_ID METER_WH STATE [EVSE]
                                            (2.0.1 TransactionEvent Updated with chargingState
                                            STATE, and the EVSE when given: the totalCost
                                            evgate said; CostUpdated calls are printed like
                                            every request)
    start_before_plug ID_TAG TRANSACTION_ID (2.0.1 TransactionEvent Started without evse,
                                            TxStartPoint Authorized)
    meter CONNECTOR TRANSACTION_ID METER_WH (1.6 MeterValues, energy register)
    offline CONNECTOR ID_TAG MINUTES_AGO METER_START METER_STOP
                                            (1.6: replay a transaction that ran offline)
    authorize ID_TAG
    status CONNECTOR STATUS                 (1.6 status names; 2.0.1 connector status)
    probe PASSWORD                          (a second handshake with PASSWORD: its HTTP status)
    reservation_status ID STATUS            (2.0.1 ReservationStatusUpdate: Expired or Removed)
    notify_event EVSE VALUE                 (2.0.1 NotifyEvent: the connector's AvailabilityState)
    local_list                              (the local authorization list it holds)
    data_transfer VENDOR MESSAGE DATA       (DataTransfer; MESSAGE and DATA may be "-";
                                            2.0.1 sends DATA as JSON when it reads as JSON)

Connects with subprotocol ocpp1.6 or ocpp2.0.1, boots, reports connectors 1
and 2 Available, prints READY, then answers ReserveNow with RESERVE_ANSWER
(Accepted, Occupied, Faulted, Rejected, Unavailable, or Silent: never
answer) and CancelReservation with Accepted (or with what follows a colon:
"Accepted:Rejected") for SECONDS seconds. Every
request it receives is printed as one JSON line: {"action": ..., "payload": ...}.
The library validates each frame evgate sends against the official OCA
schemas it ships, and answers a violation with a CALLERROR.

A 2.0.1 charger keeps display messages by id (Set/Get/ClearDisplayMessage,
the report in NotifyDisplayMessages); CHARGER_SCREEN="ID:TEXT" puts one
there before evgate sets any.

Credentials, from the environment: CHARGER_PASSWORD (Basic auth as the
identity, security profile 1), CHARGER_CONFIG_ANSWER (how ChangeConfiguration,
SetVariables and SetNetworkProfile are answered; default Accepted). A new
password (1.6 AuthorizationKey, 2.0.1 SecurityCtrlr.BasicAuthPassword) that
was accepted is used from the next connection: the charger closes its socket
and reconnects with it, as the specifications ask; each connection after the
first prints {"connected": N}, each refused handshake {"refused": HTTP_STATUS}.
A socket the CSMS closes is not reopened (tests move a charger between
instances by starting another process).

TLS (a wss:// URL): CHARGER_CA_FILE is the CA it trusts (the server name is
the URL's host); CHARGER_TLS_CIPHERS makes it a legacy charger offering TLS
1.2 only and only those OpenSSL cipher names (e.g. AES128-GCM-SHA256). Each
TLS connection prints {"tls": [VERSION, CIPHER]}, each failed TLS handshake
{"tls_failed": REASON}.
"""
import asyncio
import base64
import json
import os
import ssl
import sys
from datetime import datetime, timedelta, timezone

import websockets
from ocpp.exceptions import OCPPError
from ocpp.routing import after, on

URL, VERSION, ANSWER, SECONDS = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
# "Accepted" answers ReserveNow; "Accepted:Rejected" also answers CancelReservation.
ANSWER, _, CANCEL_ANSWER = ANSWER.partition(":")
CANCEL_ANSWER = CANCEL_ANSWER or "Accepted"
CONFIG_ANSWER = os.environ.get("CHARGER_CONFIG_ANSWER", "Accepted")
IDENTITY = URL.rsplit("/", 1)[-1]
PROTOCOL = "ocpp1.6" if VERSION == "1.6" else "ocpp2.0.1"


class Boot:
    """Set when the CSMS asks for a BootNotification (TriggerMessage)."""
    now = None


async def boot(cp):
    """Boots until Accepted; while Pending, tries one other request (the CSMS
    should refuse it) and waits for the interval or a triggered boot."""
    while True:
        Boot.now = asyncio.Event()
        status, interval = await cp.boot_notification()
        if status == "Accepted":
            break
        print(json.dumps({"boot": status}), flush=True)
        try:
            await cp.probe_while_pending()
            print(json.dumps({"pending_call": "answered"}), flush=True)
        except OCPPError as e:
            print(json.dumps({"pending_call": type(e).__name__}), flush=True)
        try:
            await asyncio.wait_for(Boot.now.wait(), interval or 10)
        except asyncio.TimeoutError:
            pass
    await cp.report_statuses()


class Credentials:
    password = os.environ.get("CHARGER_PASSWORD")
    # Accepted from the CSMS, used from the next connection on.
    next_password = None


def screen_of(cp):
    """The display messages a 2.0.1 charger holds, by id: at first the one
    CHARGER_SCREEN names ("ID:TEXT"), if any, as if set before evgate."""
    if not hasattr(cp, "screen"):
        cp.screen = {}
        preset = os.environ.get("CHARGER_SCREEN")
        if preset:
            ident, _, text = preset.partition(":")
            cp.screen[int(ident)] = {"id": int(ident), "priority": "NormalCycle",
                                     "message": {"format": "UTF8", "content": text}}
    return cp.screen


def rotate_password(cp, password):
    """Takes the new password and reconnects with it shortly after answering."""
    Credentials.next_password = password
    asyncio.get_running_loop().call_later(
        0.3, lambda: asyncio.ensure_future(cp._connection.close()))


async def connect(password):
    headers = {}
    if password:
        token = base64.b64encode(f"{IDENTITY}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return await websockets.connect(URL, subprotocols=[PROTOCOL], additional_headers=headers,
                                    **tls_options())


def tls_options():
    """websockets.connect's ssl argument for a wss:// URL (see the docstring)."""
    if not URL.startswith("wss://"):
        return {}
    ctx = ssl.create_default_context(cafile=os.environ.get("CHARGER_CA_FILE"))
    ciphers = os.environ.get("CHARGER_TLS_CIPHERS")
    if ciphers:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
    return {"ssl": ctx}


def report(action, payload):
    print(json.dumps({"action": action, "payload": payload}, default=str), flush=True)


async def answer_reserve():
    if ANSWER == "Silent":
        await asyncio.sleep(3600)
    return ANSWER


if VERSION == "1.6":
    from ocpp.v16 import ChargePoint as Base
    from ocpp.v16 import call, call_result
    from ocpp.v16.enums import ChargePointErrorCode, ChargePointStatus

    class Charger(Base):
        @on("ReserveNow")
        async def on_reserve_now(self, connector_id, expiry_date, id_tag, reservation_id, **kw):
            report("ReserveNow", {"connectorId": connector_id, "expiryDate": expiry_date,
                                  "idTag": id_tag, "reservationId": reservation_id, **kw})
            return call_result.ReserveNow(status=await answer_reserve())

        @on("CancelReservation")
        async def on_cancel(self, reservation_id):
            report("CancelReservation", {"reservationId": reservation_id})
            return call_result.CancelReservation(status=CANCEL_ANSWER)

        @on("RemoteStartTransaction")
        async def on_remote_start(self, id_tag, **kw):
            report("RemoteStartTransaction", {"idTag": id_tag, **kw})
            return call_result.RemoteStartTransaction(status="Accepted")

        @on("RemoteStopTransaction")
        async def on_remote_stop(self, transaction_id):
            report("RemoteStopTransaction", {"transactionId": transaction_id})
            return call_result.RemoteStopTransaction(status="Accepted")

        @on("Reset")
        async def on_reset(self, type):
            report("Reset", {"type": type})
            return call_result.Reset(status="Accepted")

        @on("TriggerMessage")
        async def on_trigger(self, requested_message, **kw):
            report("TriggerMessage", {"requestedMessage": requested_message, **kw})
            if requested_message == "BootNotification":
                Boot.now.set()
            return call_result.TriggerMessage(status="Accepted")

        @on("UnlockConnector")
        async def on_unlock(self, connector_id):
            report("UnlockConnector", {"connectorId": connector_id})
            return call_result.UnlockConnector(status="Unlocked")

        @on("ChangeAvailability")
        async def on_availability(self, connector_id, type):
            report("ChangeAvailability", {"connectorId": connector_id, "type": type})
            return call_result.ChangeAvailability(status="Accepted")

        @on("ChangeConfiguration")
        async def on_change_configuration(self, key, value):
            report("ChangeConfiguration", {"key": key, "value": value})
            if CONFIG_ANSWER == "Accepted" and key == "AuthorizationKey":
                rotate_password(self, value)
            return call_result.ChangeConfiguration(status=CONFIG_ANSWER)

        @on("ClearCache")
        async def on_clear_cache(self):
            report("ClearCache", {})
            return call_result.ClearCache(status="Accepted")

        # California Pricing (cost on 1.6): CHARGER_COSTMSG=true declares
        # CustomDisplayCostAndPrice; RunningCost/FinalCost arrive as DataTransfer.
        @on("GetConfiguration")
        async def on_get_configuration(self, key=None):
            report("GetConfiguration", {"key": key})
            known = {"CustomDisplayCostAndPrice": os.environ.get("CHARGER_COSTMSG", "false"),
                     **local_list_configuration()}
            wanted = key or list(known)
            return call_result.GetConfiguration(
                configuration_key=[{"key": k, "readonly": True, "value": known[k]}
                                   for k in wanted if k in known],
                unknown_key=[k for k in wanted if k not in known] or None)

        @on("DataTransfer")
        async def on_data_transfer(self, vendor_id, message_id=None, data=None):
            report("DataTransfer", {"vendorId": vendor_id, "messageId": message_id, "data": data})
            costmsg = vendor_id == "org.openchargealliance.costmsg"
            return call_result.DataTransfer(status="Accepted" if costmsg else "UnknownVendorId")

        async def boot_notification(self):
            boot = await self.call(call.BootNotification(
                charge_point_vendor="PyOCPP", charge_point_model="TestCharger"))
            return boot.status, boot.interval

        async def probe_while_pending(self):
            await self.call(call.Authorize(id_tag="PENDING-PROBE"), suppress=False)

        async def report_statuses(self):
            for connector in (1, 2):
                await self.call(call.StatusNotification(
                    connector_id=connector, error_code=ChargePointErrorCode.no_error,
                    status=ChargePointStatus.available))

        async def start_charging(self, connector, id_tag, reservation_id):
            res = await self.call(call.StartTransaction(
                connector_id=connector, id_tag=id_tag, meter_start=1000,
                timestamp=datetime.now(timezone.utc).isoformat(), reservation_id=reservation_id))
            return {"transactionId": res.transaction_id, "idTagInfo": res.id_tag_info}

        async def authorize(self, id_tag):
            res = await self.call(call.Authorize(id_tag=id_tag))
            return {"idTagInfo": res.id_tag_info}

        async def data_transfer(self, vendor_id, message_id, data):
            res = await self.call(call.DataTransfer(
                vendor_id=vendor_id, message_id=message_id, data=data))
            return {"status": res.status, "data": res.data}

        async def status(self, connector, status):
            await self.call(call.StatusNotification(
                connector_id=connector, error_code=ChargePointErrorCode.no_error, status=status))
            return {}

        async def offline(self, connector, id_tag, minutes_ago, meter_start, meter_stop):
            # A transaction that ran while the charger was offline, replayed
            # with its own past timestamps once connected (TC_037/TC_039).
            started = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
            res = await self.call(call.StartTransaction(
                connector_id=connector, id_tag=id_tag, meter_start=meter_start,
                timestamp=started.isoformat()))
            accepted = res.id_tag_info["status"] == "Accepted"
            stopped = started + timedelta(minutes=1 if not accepted else minutes_ago // 2)
            reason = "Local" if accepted else "DeAuthorized"
            await self.call(call.StopTransaction(
                transaction_id=res.transaction_id, meter_stop=meter_stop,
                timestamp=stopped.isoformat(), reason=reason))
            return {"transactionId": res.transaction_id, "idTagInfo": res.id_tag_info,
                    "stopReason": reason}

        async def meter(self, connector, transaction_id, meter):
            await self.call(call.MeterValues(
                connector_id=connector, transaction_id=int(transaction_id),
                meter_value=[{"timestamp": datetime.now(timezone.utc).isoformat(),
                              "sampled_value": [{"value": str(meter), "unit": "Wh",
                                                "measurand": "Energy.Active.Import.Register"}]}]))
            return {}

        async def stop_charging(self, transaction_id, meter):
            res = await self.call(call.StopTransaction(
                transaction_id=int(transaction_id), meter_stop=meter,
                timestamp=datetime.now(timezone.utc).isoformat()))
            return {"idTagInfo": res.id_tag_info}
else:
    from ocpp.v201 import ChargePoint as Base
    from ocpp.v201 import call, call_result

    class Charger(Base):
        @on("ReserveNow")
        async def on_reserve_now(self, id, expiry_date_time, id_token, **kw):
            report("ReserveNow", {"id": id, "expiryDateTime": expiry_date_time, "idToken": id_token, **kw})
            return call_result.ReserveNow(status=await answer_reserve())

        @on("CancelReservation")
        async def on_cancel(self, reservation_id):
            report("CancelReservation", {"reservationId": reservation_id})
            return call_result.CancelReservation(status=CANCEL_ANSWER)

        @on("RequestStartTransaction")
        async def on_request_start(self, id_token, remote_start_id, **kw):
            report("RequestStartTransaction", {"idToken": id_token, "remoteStartId": remote_start_id, **kw})
            return call_result.RequestStartTransaction(status="Accepted")

        @on("RequestStopTransaction")
        async def on_request_stop(self, transaction_id):
            report("RequestStopTransaction", {"transactionId": transaction_id})
            return call_result.RequestStopTransaction(status="Accepted")

        @on("Reset")
        async def on_reset(self, type, **kw):
            report("Reset", {"type": type, **kw})
            return call_result.Reset(status="Accepted")

        @on("TriggerMessage")
        async def on_trigger(self, requested_message, **kw):
            report("TriggerMessage", {"requestedMessage": requested_message, **kw})
            if requested_message == "BootNotification":
                Boot.now.set()
            return call_result.TriggerMessage(status="Accepted")

        @on("UnlockConnector")
        async def on_unlock(self, evse_id, connector_id):
            report("UnlockConnector", {"evseId": evse_id, "connectorId": connector_id})
            return call_result.UnlockConnector(status="Unlocked")

        @on("ChangeAvailability")
        async def on_availability(self, operational_status, **kw):
            report("ChangeAvailability", {"operationalStatus": operational_status, **kw})
            return call_result.ChangeAvailability(status="Accepted")

        @on("SetVariables")
        async def on_set_variables(self, set_variable_data):
            report("SetVariables", {"setVariableData": set_variable_data})
            results = []
            for item in set_variable_data:
                names = (item["component"]["name"], item["variable"]["name"])
                if CONFIG_ANSWER == "Accepted" and names == ("SecurityCtrlr", "BasicAuthPassword"):
                    rotate_password(self, item["attribute_value"])
                results.append({"attribute_status": CONFIG_ANSWER,
                                "component": item["component"], "variable": item["variable"]})
            return call_result.SetVariables(set_variable_result=results)

        @on("SetNetworkProfile")
        async def on_set_network_profile(self, configuration_slot, connection_data):
            report("SetNetworkProfile", {"configurationSlot": configuration_slot,
                                         "connectionData": connection_data})
            return call_result.SetNetworkProfile(status=CONFIG_ANSWER)

        @on("ClearCache")
        async def on_clear_cache(self):
            report("ClearCache", {})
            return call_result.ClearCache(status="Accepted")

        @on("GetTransactionStatus")
        async def on_transaction_status(self, transaction_id=None):
            # Nothing is queued here but for a transaction the test named
            # "tx-queued"; none is going unless the test started it as "tx-live".
            report("GetTransactionStatus", {"transactionId": transaction_id})
            if transaction_id is None:
                return call_result.GetTransactionStatus(messages_in_queue=False)
            return call_result.GetTransactionStatus(
                messages_in_queue=transaction_id == "tx-queued",
                ongoing_indicator=transaction_id == "tx-live")

        # Display messages (block O): kept by id, as a station's screen does.
        @on("SetDisplayMessage")
        async def on_set_display_message(self, message):
            report("SetDisplayMessage", {"message": message})
            screen_of(self)[message["id"]] = message
            return call_result.SetDisplayMessage(status="Accepted")

        @on("GetDisplayMessages")
        async def on_get_display_messages(self, request_id, id=None, **kw):
            report("GetDisplayMessages", {"requestId": request_id, "id": id})
            shown = [m for k, m in screen_of(self).items() if not id or k in id]
            return call_result.GetDisplayMessages(status="Accepted" if shown else "Unknown")

        @after("GetDisplayMessages")
        async def after_get_display_messages(self, request_id, id=None, **kw):
            shown = [m for k, m in screen_of(self).items() if not id or k in id]
            if shown:
                await self.call(call.NotifyDisplayMessages(request_id=request_id, message_info=shown))

        @on("ClearDisplayMessage")
        async def on_clear_display_message(self, id):
            report("ClearDisplayMessage", {"id": id})
            known = screen_of(self).pop(id, None) is not None
            return call_result.ClearDisplayMessage(status="Accepted" if known else "Unknown")

        async def boot_notification(self):
            boot = await self.call(call.BootNotification(
                charging_station={"vendor_name": "PyOCPP", "model": "TestStation"}, reason="PowerUp"))
            return boot.status, boot.interval

        async def probe_while_pending(self):
            await self.call(call.Authorize(id_token={"id_token": "PENDING-PROBE", "type": "Central"}),
                            suppress=False)

        async def report_statuses(self):
            now = datetime.now(timezone.utc).isoformat()
            for evse in (1, 2):
                await self.call(call.StatusNotification(
                    timestamp=now, connector_status="Available", evse_id=evse, connector_id=1))

        async def start_charging(self, evse, id_tag, reservation_id, tx_id=None):
            self.tx = getattr(self, "tx", 0) + 1
            tx_id = tx_id or f"py-tx-{self.tx}"
            res = await self.call(call.TransactionEvent(
                event_type="Started", timestamp=datetime.now(timezone.utc).isoformat(),
                trigger_reason="Authorized", seq_no=0, transaction_info={"transaction_id": tx_id},
                evse={"id": evse, "connector_id": 1}, id_token={"id_token": id_tag, "type": "Central"},
                reservation_id=reservation_id,
                meter_value=[{"timestamp": datetime.now(timezone.utc).isoformat(),
                              "sampled_value": [{"value": 1000.0}]}]))
            return {"transactionId": tx_id, "idTokenInfo": res.id_token_info}

        async def authorize(self, id_tag):
            res = await self.call(call.Authorize(id_token={"id_token": id_tag, "type": "Central"}))
            return {"idTokenInfo": res.id_token_info}

        async def data_transfer(self, vendor_id, message_id, data):
            try:
                data = json.loads(data) if data is not None else None
            except ValueError:
                pass
            res = await self.call(call.DataTransfer(
                vendor_id=vendor_id, message_id=message_id, data=data))
            return {"status": res.status, "data": res.data}

        async def status(self, evse, status):
            await self.call(call.StatusNotification(
                timestamp=datetime.now(timezone.utc).isoformat(), connector_status=status,
                evse_id=evse, connector_id=1))
            return {}

        async def reservation_status(self, reservation_id, status):
            await self.call(call.ReservationStatusUpdate(
                reservation_id=int(reservation_id), reservation_update_status=status))
            return {}

        async def notify_event(self, evse, value):
            now = datetime.now(timezone.utc).isoformat()
            await self.call(call.NotifyEvent(generated_at=now, seq_no=0, event_data=[{
                "event_id": int(evse), "timestamp": now, "trigger": "Delta", "actual_value": value,
                "event_notification_type": "CustomMonitor",
                "component": {"name": "Connector", "evse": {"id": int(evse), "connector_id": 1}},
                "variable": {"name": "AvailabilityState"}}]))
            return {}

        async def stop_charging(self, transaction_id, meter):
            res = await self.call(call.TransactionEvent(
                event_type="Ended", timestamp=datetime.now(timezone.utc).isoformat(),
                trigger_reason="EVDeparted", seq_no=1,
                transaction_info={"transaction_id": transaction_id, "stopped_reason": "EVDisconnected"},
                meter_value=[{"timestamp": datetime.now(timezone.utc).isoformat(),
                              "sampled_value": [{"value": float(meter)}]}]))
            return {"totalCost": res.total_cost}

        async def update_charging(self, transaction_id, meter, state, evse=None):
            self.seq = getattr(self, "seq", 1) + 1
            now = datetime.now(timezone.utc).isoformat()
            res = await self.call(call.TransactionEvent(
                event_type="Updated", timestamp=now, trigger_reason="MeterValuePeriodic",
                seq_no=self.seq,
                transaction_info={"transaction_id": transaction_id, "charging_state": state},
                evse={"id": evse, "connector_id": 1} if evse else None,
                meter_value=[{"timestamp": now, "sampled_value": [{"value": float(meter)}]}]))
            return {"totalCost": res.total_cost}

        async def start_before_plug(self, id_tag, transaction_id):
            # TxStartPoint Authorized: Started before a cable, without evse.
            now = datetime.now(timezone.utc).isoformat()
            res = await self.call(call.TransactionEvent(
                event_type="Started", timestamp=now, trigger_reason="Authorized", seq_no=0,
                transaction_info={"transaction_id": transaction_id},
                id_token={"id_token": id_tag, "type": "Central"},
                meter_value=[{"timestamp": now, "sampled_value": [{"value": 500.0}]}]))
            return {"idTokenInfo": res.id_token_info}

        @on("CostUpdated")
        async def on_cost_updated(self, total_cost, transaction_id):
            report("CostUpdated", {"totalCost": total_cost, "transactionId": transaction_id})
            return call_result.CostUpdated()


# Device model (2.0.1, B07/B08): GetBaseReport and GetReport are answered
# Accepted, then the report follows in NotifyReport parts of 3 entries,
# deliberately out of order and with one part repeated (the last first, then
# 0, 2, 1, and 0 again); GetVariables is answered from the same model and
# refused (OccurrenceConstraintViolation) beyond ItemsPerMessage GetVariables
# (CHARGER_ITEMS_PER_MESSAGE, default 2). Each request is printed as usual.
ITEMS_PER_MESSAGE = os.environ.get("CHARGER_ITEMS_PER_MESSAGE", "2")
DEVICE_MODEL = [
    # component, evse, variable, instance, value, mutability, data type
    ("DeviceDataCtrlr", None, "ItemsPerMessage", "GetReport", "3", "ReadOnly", "integer"),
    ("DeviceDataCtrlr", None, "ItemsPerMessage", "GetVariables", ITEMS_PER_MESSAGE, "ReadOnly", "integer"),
    ("DeviceDataCtrlr", None, "ItemsPerMessage", "SetVariables", ITEMS_PER_MESSAGE, "ReadOnly", "integer"),
    ("OCPPCommCtrlr", None, "HeartbeatInterval", None, "300", "ReadWrite", "integer"),
    ("AuthCtrlr", None, "Enabled", None, "true", "ReadWrite", "boolean"),
    ("TxCtrlr", None, "EVConnectionTimeOut", None, "60", "ReadWrite", "integer"),
    ("EVSE", {"id": 1}, "AvailabilityState", None, "Available", "ReadOnly", "OptionList"),
    ("EVSE", {"id": 2}, "AvailabilityState", None, "Available", "ReadOnly", "OptionList"),
    ("Connector", {"id": 1, "connector_id": 1}, "AvailabilityState", None, "Available", "ReadOnly", "OptionList"),
    ("Connector", {"id": 2, "connector_id": 1}, "AvailabilityState", None, "Available", "ReadOnly", "OptionList"),
]
# CHARGER_LANGUAGE adds DisplayMessageCtrlr.Language (the display's language).
if os.environ.get("CHARGER_LANGUAGE"):
    DEVICE_MODEL.append(("DisplayMessageCtrlr", None, "Language", None,
                         os.environ["CHARGER_LANGUAGE"], "ReadWrite", "string"))


def device_model_entry(entry):
    component, evse, variable, instance, value, mutability, data_type = entry
    c = {"name": component}
    if evse:
        c["evse"] = evse
    v = {"name": variable}
    if instance:
        v["instance"] = instance
    return {"component": c, "variable": v,
            "variable_attribute": [{"type": "Actual", "value": value, "mutability": mutability}],
            "variable_characteristics": {"data_type": data_type, "supports_monitoring": False}}


def device_model_matches(entry, wanted):
    if not wanted:
        return True
    return any(w["component"]["name"] == entry[0]
               and ("variable" not in w or w["variable"]["name"] == entry[2]) for w in wanted)


async def send_device_model_report(cp, request_id, wanted):
    entries = [device_model_entry(e) for e in DEVICE_MODEL if device_model_matches(e, wanted)]
    parts = [entries[i:i + 3] for i in range(0, len(entries), 3)]
    last = len(parts) - 1
    order = [last] + list(range(last)) if last > 0 else [0]
    if last >= 2:
        order = [last, 0, 2, 1] + list(range(3, last)) + [0]
    now = datetime.now(timezone.utc).isoformat()
    for seq in order:
        await cp.call(call.NotifyReport(request_id=request_id, generated_at=now, seq_no=seq,
                                        report_data=parts[seq], tbc=seq < last))


if VERSION != "1.6":
    from ocpp.exceptions import OccurrenceConstraintViolationError
    from ocpp.routing import after

    @on("GetBaseReport")
    async def on_get_base_report(self, request_id, report_base, **kw):
        report("GetBaseReport", {"requestId": request_id, "reportBase": report_base, **kw})
        return call_result.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    async def after_get_base_report(self, request_id, report_base, **kw):
        await send_device_model_report(self, request_id, None)

    @on("GetReport")
    async def on_get_report(self, request_id, **kw):
        report("GetReport", {"requestId": request_id, **kw})
        wanted = kw.get("component_variable")
        found = any(device_model_matches(e, wanted) for e in DEVICE_MODEL)
        return call_result.GetReport(status="Accepted" if found else "EmptyResultSet")

    @after("GetReport")
    async def after_get_report(self, request_id, **kw):
        wanted = kw.get("component_variable")
        if any(device_model_matches(e, wanted) for e in DEVICE_MODEL):
            await send_device_model_report(self, request_id, wanted)

    @on("GetVariables")
    async def on_get_variables(self, get_variable_data, **kw):
        report("GetVariables", {"getVariableData": get_variable_data})
        if len(get_variable_data) > int(ITEMS_PER_MESSAGE):
            raise OccurrenceConstraintViolationError(
                description=f"more than ItemsPerMessage GetVariables ({ITEMS_PER_MESSAGE})")
        results = []
        for item in get_variable_data:
            c, v = item["component"], item["variable"]
            value = next((e[4] for e in DEVICE_MODEL
                          if e[0].lower() == c["name"].lower() and e[2].lower() == v["name"].lower()
                          and (e[1] or {}).get("id") == c.get("evse", {}).get("id")
                          and e[3] == v.get("instance")), None)
            result = {"attribute_status": "Accepted" if value is not None else "UnknownVariable",
                      "component": c, "variable": v}
            if value is not None:
                result["attribute_value"] = value
            results.append(result)
        return call_result.GetVariables(get_variable_result=results)

    Charger.on_get_base_report = on_get_base_report
    Charger.after_get_base_report = after_get_base_report
    Charger.on_get_report = on_get_report
    Charger.after_get_report = after_get_report
    Charger.on_get_variables = on_get_variables


# --- local lists ---
# SendLocalList and GetLocalListVersion (1.6 Local Auth List Management,
# 2.0.1 D01/D02): the list is kept by version, full and differential updates
# applied. CHARGER_LOCAL_LIST_ANSWER answers SendLocalList otherwise (Failed,
# VersionMismatch, NotSupported; "Failed:Accepted" answers the first
# Failed and the rest Accepted); CHARGER_LOCAL_LIST_ITEMS=N declares the list
# enabled with N entries per message (GetConfiguration / GetVariables).
# Printed: {"action": "SendLocalList", "payload": {"version", "updateType",
# "entries": [[TAG, STATUS or null]]}}; the stdin command `local_list`
# answers {"version", "entries": {TAG: STATUS}}.
class LocalList:
    version = 0
    entries = {}
    answers = os.environ.get("CHARGER_LOCAL_LIST_ANSWER", "Accepted").split(":")


LOCAL_LIST_ITEMS = os.environ.get("CHARGER_LOCAL_LIST_ITEMS")


def local_list_configuration():
    if not LOCAL_LIST_ITEMS:
        return {}
    return {"LocalAuthListEnabled": "true", "SendLocalListMaxLength": LOCAL_LIST_ITEMS,
            "AuthorizationCacheEnabled": "false"}


if LOCAL_LIST_ITEMS and VERSION != "1.6":
    DEVICE_MODEL.append(("LocalAuthListCtrlr", None, "Enabled", None, "true", "ReadWrite", "boolean"))
    DEVICE_MODEL.append(("LocalAuthListCtrlr", None, "ItemsPerMessage", None, LOCAL_LIST_ITEMS,
                         "ReadOnly", "integer"))


def apply_local_list(version, update_type, items, tag_of, info_key):
    answer = LocalList.answers[0]
    if len(LocalList.answers) > 1:
        LocalList.answers = LocalList.answers[1:]
    entries = [[tag_of(i), (i.get(info_key) or {}).get("status")] for i in items or []]
    report("SendLocalList", {"version": version, "updateType": update_type, "entries": entries})
    if answer != "Accepted":
        return answer
    listed = {} if update_type == "Full" else dict(LocalList.entries)
    for tag, status in entries:
        if status is None:
            listed.pop(tag, None)
        else:
            listed[tag] = status
    LocalList.entries, LocalList.version = listed, version
    return "Accepted"


if VERSION == "1.6":
    @on("SendLocalList")
    async def on_send_local_list(self, list_version, update_type, local_authorization_list=None):
        status = apply_local_list(list_version, update_type, local_authorization_list,
                                  lambda i: i["id_tag"], "id_tag_info")
        return call_result.SendLocalList(status=status)

    @on("GetLocalListVersion")
    async def on_get_local_list_version(self):
        report("GetLocalListVersion", {})
        return call_result.GetLocalListVersion(list_version=LocalList.version)
else:
    @on("SendLocalList")
    async def on_send_local_list(self, version_number, update_type, local_authorization_list=None,
                                 **kw):
        status = apply_local_list(version_number, update_type, local_authorization_list,
                                  lambda i: i["id_token"]["id_token"], "id_token_info")
        return call_result.SendLocalList(status=status)

    @on("GetLocalListVersion")
    async def on_get_local_list_version(self, **kw):
        report("GetLocalListVersion", {})
        return call_result.GetLocalListVersion(version_number=LocalList.version)

Charger.on_send_local_list = on_send_local_list
Charger.on_get_local_list_version = on_get_local_list_version
# --- end local lists ---
# --- security ---
# Certificates and security events (1.6 security whitepaper, 2.0.1 A/M).
# Asked for a CSR (1.6 ExtendedTriggerMessage SignChargePointCertificate,
# 2.0.1 TriggerMessage SignChargingStationCertificate) it answers Accepted,
# makes a P-256 key and a CSR (CN: CHARGER_CSR_CN or the identity; O:
# CHARGER_CSR_ORG if set) and sends SignCertificate, printing the answer as
# {"action": "SignCertificateAnswer", ...}. CertificateSigned is checked
# (the leaf is for the CSR's key and is signed by the chain's CA) and
# answered Accepted or Rejected; it prints {"verified": ..., "cn": ...} in
# its payload line. Install/DeleteCertificate and GetInstalledCertificateIds
# work on a store of installed roots (CHARGER_CERT_ANSWER=Rejected refuses
# every InstallCertificate). Commands:
#     sign_certificate [CN]                  (SignCertificate now: its answer)
#     sign_garbage                           (SignCertificate with a CSR that is no CSR)
#     security_event TYPE [TECH_INFO]        (SecurityEventNotification)
#     ev_certificate                         (2.0.1 Get15118EVCertificate: its answer)
#     certificate_status                     (2.0.1 GetCertificateStatus: its answer)
import hashlib

from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_ANSWER = os.environ.get("CHARGER_CERT_ANSWER", "Accepted")


class Security:
    key = None
    installed = []  # (type, hash data) of installed roots


def make_csr(cn=None):
    Security.key = ec.generate_private_key(ec.SECP256R1())
    names = [cx509.NameAttribute(NameOID.COMMON_NAME, cn or os.environ.get("CHARGER_CSR_CN", IDENTITY))]
    if os.environ.get("CHARGER_CSR_ORG"):
        names.append(cx509.NameAttribute(NameOID.ORGANIZATION_NAME, os.environ["CHARGER_CSR_ORG"]))
    csr = cx509.CertificateSigningRequestBuilder().subject_name(cx509.Name(names)).sign(
        Security.key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def hash_data(cert):
    issuer_key = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"hash_algorithm": "SHA256",
            "issuer_name_hash": hashlib.sha256(cert.issuer.public_bytes()).hexdigest(),
            "issuer_key_hash": hashlib.sha256(issuer_key).hexdigest(),
            "serial_number": format(cert.serial_number, "x")}


def check_chain(chain):
    certs = cx509.load_pem_x509_certificates(chain.encode())
    leaf, ca = certs[0], certs[-1]
    mine = Security.key is not None and leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == \
        Security.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        leaf.verify_directly_issued_by(ca)
        signed = True
    except Exception:
        signed = False
    cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    return {"verified": mine and signed, "cn": cn, "certificates": len(certs)}


async def send_sign_certificate(cp, cn=None, csr=None):
    res = await cp.call(call.SignCertificate(csr=csr or make_csr(cn)))
    answer = {"status": res.status}
    if getattr(res, "status_info", None):
        answer["statusInfo"] = res.status_info
    report("SignCertificateAnswer", answer)
    return answer


async def security_event(cp, kind, tech_info=None):
    await cp.call(call.SecurityEventNotification(
        type=kind, timestamp=datetime.now(timezone.utc).isoformat(), tech_info=tech_info))
    return {}


@on("CertificateSigned")
async def on_certificate_signed(self, certificate_chain, **kw):
    checked = check_chain(certificate_chain)
    report("CertificateSigned", {"certificateChain": certificate_chain,
                                 "certificateType": kw.get("certificate_type"), **checked})
    return call_result.CertificateSigned(status="Accepted" if checked["verified"] else "Rejected")


@on("InstallCertificate")
async def on_install_certificate(self, certificate_type, certificate):
    report("InstallCertificate", {"certificateType": certificate_type, "certificate": certificate})
    try:
        cert = cx509.load_pem_x509_certificate(certificate.encode())
    except ValueError:
        return call_result.InstallCertificate(status="Rejected")
    if CERT_ANSWER != "Accepted":
        return call_result.InstallCertificate(status=CERT_ANSWER)
    Security.installed.append((certificate_type, hash_data(cert)))
    return call_result.InstallCertificate(status="Accepted")


@on("DeleteCertificate")
async def on_delete_certificate(self, certificate_hash_data):
    report("DeleteCertificate", {"certificateHashData": certificate_hash_data})
    kept = [c for c in Security.installed if c[1] != certificate_hash_data]
    found = len(kept) != len(Security.installed)
    Security.installed = kept
    return call_result.DeleteCertificate(status="Accepted" if found else "NotFound")


@on("GetInstalledCertificateIds")
async def on_get_installed_certificate_ids(self, certificate_type=None):
    report("GetInstalledCertificateIds", {"certificateType": certificate_type})
    if VERSION == "1.6":
        found = [h for t, h in Security.installed if t == certificate_type]
        return call_result.GetInstalledCertificateIds(
            status="Accepted" if found else "NotFound", certificate_hash_data=found or None)
    found = [{"certificate_type": t, "certificate_hash_data": h} for t, h in Security.installed
             if not certificate_type or t in certificate_type]
    return call_result.GetInstalledCertificateIds(
        status="Accepted" if found else "NotFound", certificate_hash_data_chain=found or None)


if VERSION == "1.6":
    @on("ExtendedTriggerMessage")
    async def on_extended_trigger(self, requested_message, **kw):
        report("ExtendedTriggerMessage", {"requestedMessage": requested_message, **kw})
        return call_result.ExtendedTriggerMessage(status="Accepted")

    @after("ExtendedTriggerMessage")
    async def after_extended_trigger(self, requested_message, **kw):
        if requested_message == "SignChargePointCertificate":
            await send_sign_certificate(self)

    Charger.on_extended_trigger = on_extended_trigger
    Charger.after_extended_trigger = after_extended_trigger
else:
    @after("TriggerMessage")
    async def after_trigger_sign(self, requested_message, **kw):
        if requested_message == "SignChargingStationCertificate":
            await send_sign_certificate(self)

    async def ev_certificate(cp):
        res = await cp.call(call.Get15118EVCertificate(
            iso15118_schema_version="urn:iso:15118:2:2013:MsgDef", action="Install",
            exi_request="AAAA"))
        return {"status": res.status, "exiResponse": res.exi_response, "statusInfo": res.status_info}

    async def certificate_status(cp):
        res = await cp.call(call.GetCertificateStatus(ocsp_request_data={
            "hash_algorithm": "SHA256", "issuer_name_hash": "00", "issuer_key_hash": "00",
            "serial_number": "01", "responder_url": "http://ocsp.example"}))
        return {"status": res.status, "statusInfo": res.status_info}

    Charger.after_trigger_sign = after_trigger_sign
    Charger.ev_certificate = ev_certificate
    Charger.certificate_status = certificate_status

Charger.on_certificate_signed = on_certificate_signed
Charger.on_install_certificate = on_install_certificate
Charger.on_delete_certificate = on_delete_certificate
Charger.on_get_installed_certificate_ids = on_get_installed_certificate_ids
Charger.send_sign_certificate = send_sign_certificate
Charger.security_event = security_event
# --- end security ---
# --- firmware ---
# Firmware and logs (1.6 Firmware Management and the security whitepaper;
# 2.0.1 L and N). UpdateFirmware/SignedUpdateFirmware are answered with
# CHARGER_FIRMWARE_ANSWER (default Accepted; 1.6 UpdateFirmware has no
# status to refuse with), then, when accepted, the firmware statuses follow:
# Downloading, Downloaded, (SignatureVerified when signed,) Installing,
# Installed (CHARGER_FIRMWARE_FAIL=download: Downloading, DownloadFailed).
# GetDiagnostics/GetLog are answered with CHARGER_LOG_ANSWER
# (default Accepted; 1.6 GetDiagnostics refuses by naming no file), then
# Uploading, a PUT of a small file to the location + its file name (printed
# as {"uploaded": HTTP_STATUS}), and Uploaded or UploadFailure (1.6
# GetDiagnostics: UploadFailed). Each request is printed as usual.
FIRMWARE_ANSWER = os.environ.get("CHARGER_FIRMWARE_ANSWER", "Accepted")
LOG_ANSWER = os.environ.get("CHARGER_LOG_ANSWER", "Accepted")


def put_file(location, name):
    """PUTs a small log to location + name, as a charger without auth
    headers would; returns the HTTP status (0 when unreachable)."""
    import urllib.error
    import urllib.request
    url = location if location.endswith("/") else location + "/"
    body = f"log of {IDENTITY}\n".encode() * 8
    request = urllib.request.Request(url + name, data=body, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


async def upload(location, name):
    status = await asyncio.get_running_loop().run_in_executor(None, put_file, location, name)
    print(json.dumps({"uploaded": status}), flush=True)
    return 200 <= status < 300


def firmware_steps(signed):
    if os.environ.get("CHARGER_FIRMWARE_FAIL") == "download":
        return ["Downloading", "DownloadFailed"]
    return ["Downloading", "Downloaded"] + (["SignatureVerified"] if signed else []) + \
        ["Installing", "Installed"]


if VERSION == "1.6":
    @on("UpdateFirmware")
    async def on_update_firmware(self, location, retrieve_date, **kw):
        report("UpdateFirmware", {"location": location, "retrieveDate": retrieve_date, **kw})
        return call_result.UpdateFirmware()

    @after("UpdateFirmware")
    async def after_update_firmware(self, location, retrieve_date, **kw):
        for status in firmware_steps(False):
            await self.call(call.FirmwareStatusNotification(status=status))

    @on("SignedUpdateFirmware")
    async def on_signed_update_firmware(self, request_id, firmware, **kw):
        report("SignedUpdateFirmware", {"requestId": request_id, "firmware": firmware, **kw})
        return call_result.SignedUpdateFirmware(status=FIRMWARE_ANSWER)

    @after("SignedUpdateFirmware")
    async def after_signed_update_firmware(self, request_id, firmware, **kw):
        if FIRMWARE_ANSWER == "Accepted":
            for status in firmware_steps(True):
                await self.call(call.SignedFirmwareStatusNotification(status=status,
                                                                      request_id=request_id))

    @on("GetDiagnostics")
    async def on_get_diagnostics(self, location, **kw):
        report("GetDiagnostics", {"location": location, **kw})
        if LOG_ANSWER != "Accepted":
            return call_result.GetDiagnostics()
        return call_result.GetDiagnostics(file_name="diagnostics.log")

    @after("GetDiagnostics")
    async def after_get_diagnostics(self, location, **kw):
        if LOG_ANSWER == "Accepted":
            await self.call(call.DiagnosticsStatusNotification(status="Uploading"))
            done = await upload(location, "diagnostics.log")
            await self.call(call.DiagnosticsStatusNotification(
                status="Uploaded" if done else "UploadFailed"))

    @on("GetLog")
    async def on_get_log(self, log_type, request_id, log, **kw):
        report("GetLog", {"logType": log_type, "requestId": request_id, "log": log, **kw})
        if LOG_ANSWER != "Accepted":
            return call_result.GetLog(status=LOG_ANSWER)
        return call_result.GetLog(status="Accepted", filename="security.log")

    @after("GetLog")
    async def after_get_log(self, log_type, request_id, log, **kw):
        if LOG_ANSWER == "Accepted":
            await self.call(call.LogStatusNotification(status="Uploading", request_id=request_id))
            done = await upload(log["remote_location"], "security.log")
            await self.call(call.LogStatusNotification(
                status="Uploaded" if done else "UploadFailure", request_id=request_id))
else:
    @on("UpdateFirmware")
    async def on_update_firmware(self, request_id, firmware, **kw):
        report("UpdateFirmware", {"requestId": request_id, "firmware": firmware, **kw})
        return call_result.UpdateFirmware(status=FIRMWARE_ANSWER)

    @after("UpdateFirmware")
    async def after_update_firmware(self, request_id, firmware, **kw):
        if FIRMWARE_ANSWER == "Accepted":
            for status in firmware_steps("signature" in firmware):
                await self.call(call.FirmwareStatusNotification(status=status,
                                                                request_id=request_id))

    @on("GetLog")
    async def on_get_log(self, log_type, request_id, log, **kw):
        report("GetLog", {"logType": log_type, "requestId": request_id, "log": log, **kw})
        if LOG_ANSWER != "Accepted":
            return call_result.GetLog(status=LOG_ANSWER)
        return call_result.GetLog(status="Accepted", filename="station.log")

    @after("GetLog")
    async def after_get_log(self, log_type, request_id, log, **kw):
        if LOG_ANSWER == "Accepted":
            await self.call(call.LogStatusNotification(status="Uploading", request_id=request_id))
            done = await upload(log["remote_location"], "station.log")
            await self.call(call.LogStatusNotification(
                status="Uploaded" if done else "UploadFailure", request_id=request_id))

for _name, _handler in list(globals().items()):
    if _name.startswith(("on_", "after_")) and _name.split("_", 1)[1] in (
            "update_firmware", "signed_update_firmware", "get_diagnostics", "get_log"):
        setattr(Charger, _name, _handler)
# --- end firmware ---
# --- smart charging ---
# SetChargingProfile, ClearChargingProfile and GetCompositeSchedule (both
# versions), GetChargingProfiles (2.0.1; the profiles follow in one
# ReportChargingProfiles). Profiles are kept by id; SetChargingProfile is
# answered CHARGER_PROFILE_ANSWER (default Accepted; e.g. Rejected), and
# printed with its connector/EVSE, purpose, transaction and first limit:
# {"action": "SetChargingProfile", "payload": {"evse": N, "id": ID,
# "purpose": P, "transactionId": T, "limit": L, "profile": {...}}}.
# GetCompositeSchedule: the lowest first-period limit of the profiles on that
# connector/EVSE or the whole charger, Rejected when there is none.
# Commands: `reboot` (a BootNotification again, as a charger that restarted
# and lost its profiles), `notify_limit EVSE SOURCE LIMIT_W` and
# `cleared_limit EVSE SOURCE` (2.0.1 NotifyChargingLimit, ClearedChargingLimit).
PROFILE_ANSWER = os.environ.get("CHARGER_PROFILE_ANSWER", "Accepted")


def profiles_of(cp):
    if not hasattr(cp, "profiles"):
        cp.profiles = {}
    return cp.profiles


def keep_profile(cp, evse, profile):
    schedule = profile["charging_schedule"]
    schedule = schedule[0] if isinstance(schedule, list) else schedule
    ident = profile.get("charging_profile_id", profile.get("id"))
    limit = float(schedule["charging_schedule_period"][0]["limit"])
    report("SetChargingProfile", {"evse": evse, "id": ident,
                                  "purpose": profile["charging_profile_purpose"],
                                  "transactionId": profile.get("transaction_id"),
                                  "limit": limit, "profile": profile})
    if PROFILE_ANSWER == "Accepted":
        profiles_of(cp)[ident] = {"evse": evse, "limit": limit, "profile": profile,
                                  "unit": schedule["charging_rate_unit"]}
    return PROFILE_ANSWER


def clear_profiles(cp, ident, evse, purpose, stack_level):
    held = profiles_of(cp)
    def matches(k, p):
        if ident is not None:
            return k == ident
        return ((evse is None or p["evse"] == evse)
                and (purpose is None or p["profile"]["charging_profile_purpose"] == purpose)
                and (stack_level is None or p["profile"]["stack_level"] == stack_level))
    gone = [k for k, p in held.items() if matches(k, p)]
    for k in gone:
        del held[k]
    return "Accepted" if gone else "Unknown"


def composite_of(cp, evse):
    """(limit, unit) the connector/EVSE applies, or None."""
    limits = [(p["limit"], p["unit"]) for p in profiles_of(cp).values() if p["evse"] in (0, evse)]
    return min(limits) if limits else None


async def smart_reboot(cp):
    status, _ = await cp.boot_notification()
    return {"status": status}


SMART_COMMANDS = {"reboot": smart_reboot}

if VERSION == "1.6":
    @on("SetChargingProfile")
    async def on_set_charging_profile(self, connector_id, cs_charging_profiles):
        return call_result.SetChargingProfile(
            status=keep_profile(self, connector_id, cs_charging_profiles))

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(self, id=None, connector_id=None,
                                        charging_profile_purpose=None, stack_level=None):
        report("ClearChargingProfile", {"id": id, "connectorId": connector_id,
                                        "chargingProfilePurpose": charging_profile_purpose,
                                        "stackLevel": stack_level})
        return call_result.ClearChargingProfile(
            status=clear_profiles(self, id, connector_id, charging_profile_purpose, stack_level))

    @on("GetCompositeSchedule")
    async def on_get_composite_schedule(self, connector_id, duration, charging_rate_unit=None):
        report("GetCompositeSchedule", {"connectorId": connector_id, "duration": duration,
                                        "chargingRateUnit": charging_rate_unit})
        found = composite_of(self, connector_id)
        if found is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        now = datetime.now(timezone.utc).isoformat()
        return call_result.GetCompositeSchedule(
            status="Accepted", connector_id=connector_id, schedule_start=now,
            charging_schedule={"duration": duration, "start_schedule": now,
                               "charging_rate_unit": found[1],
                               "charging_schedule_period": [{"start_period": 0, "limit": found[0]}]})
else:
    @on("SetChargingProfile")
    async def on_set_charging_profile(self, evse_id, charging_profile):
        return call_result.SetChargingProfile(
            status=keep_profile(self, evse_id, charging_profile))

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(self, charging_profile_id=None,
                                        charging_profile_criteria=None):
        report("ClearChargingProfile", {"chargingProfileId": charging_profile_id,
                                        "chargingProfileCriteria": charging_profile_criteria})
        c = charging_profile_criteria or {}
        return call_result.ClearChargingProfile(status=clear_profiles(
            self, charging_profile_id, c.get("evse_id"), c.get("charging_profile_purpose"),
            c.get("stack_level")))

    @on("GetCompositeSchedule")
    async def on_get_composite_schedule(self, duration, evse_id, charging_rate_unit=None):
        report("GetCompositeSchedule", {"evseId": evse_id, "duration": duration,
                                        "chargingRateUnit": charging_rate_unit})
        found = composite_of(self, evse_id)
        if found is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        return call_result.GetCompositeSchedule(status="Accepted", schedule={
            "evse_id": evse_id, "duration": duration,
            "schedule_start": datetime.now(timezone.utc).isoformat(),
            "charging_rate_unit": found[1],
            "charging_schedule_period": [{"start_period": 0, "limit": found[0]}]})

    def wanted_profiles(cp, evse_id, charging_profile):
        ids = charging_profile.get("charging_profile_id")
        purpose = charging_profile.get("charging_profile_purpose")
        return [p for k, p in profiles_of(cp).items()
                if (evse_id is None or p["evse"] == evse_id)
                and (not ids or k in ids)
                and (purpose is None or p["profile"]["charging_profile_purpose"] == purpose)]

    @on("GetChargingProfiles")
    async def on_get_charging_profiles(self, request_id, charging_profile, evse_id=None):
        report("GetChargingProfiles", {"requestId": request_id, "evseId": evse_id,
                                       "chargingProfile": charging_profile})
        found = wanted_profiles(self, evse_id, charging_profile)
        return call_result.GetChargingProfiles(status="Accepted" if found else "NoProfiles")

    @after("GetChargingProfiles")
    async def after_get_charging_profiles(self, request_id, charging_profile, evse_id=None):
        by_evse = {}
        for p in wanted_profiles(self, evse_id, charging_profile):
            by_evse.setdefault(p["evse"], []).append(p["profile"])
        evses = sorted(by_evse)
        for i, evse in enumerate(evses):
            await self.call(call.ReportChargingProfiles(
                request_id=request_id, charging_limit_source="CSO", evse_id=evse,
                charging_profile=by_evse[evse], tbc=i < len(evses) - 1))

    async def smart_notify_limit(cp, evse, source, limit):
        await cp.call(call.NotifyChargingLimit(
            charging_limit={"charging_limit_source": source, "is_grid_critical": False},
            evse_id=int(evse),
            charging_schedule=[{"id": 1, "charging_rate_unit": "W",
                                "charging_schedule_period": [{"start_period": 0,
                                                              "limit": float(limit)}]}]))
        return {}

    async def smart_cleared_limit(cp, evse, source):
        await cp.call(call.ClearedChargingLimit(charging_limit_source=source, evse_id=int(evse)))
        return {}

    SMART_COMMANDS["notify_limit"] = smart_notify_limit
    SMART_COMMANDS["cleared_limit"] = smart_cleared_limit
    Charger.on_get_charging_profiles = on_get_charging_profiles
    Charger.after_get_charging_profiles = after_get_charging_profiles

Charger.on_set_charging_profile = on_set_charging_profile
Charger.on_clear_charging_profile = on_clear_charging_profile
Charger.on_get_composite_schedule = on_get_composite_schedule
# --- end smart charging ---


class Live:
    """The connection commands go to; replaced at every reconnect."""
    cp = None


async def main():
    commands_done = None
    connections = 0
    while True:
        try:
            ws = await connect(Credentials.password)
        except websockets.exceptions.InvalidStatus as e:
            print(json.dumps({"refused": e.response.status_code}), flush=True)
            await asyncio.sleep(1)
            continue
        except ssl.SSLError as e:
            print(json.dumps({"tls_failed": e.reason or str(e)}), flush=True)
            await asyncio.sleep(1)
            continue
        except OSError:
            await asyncio.sleep(1)
            continue
        assert ws.subprotocol == PROTOCOL, ws.subprotocol
        tls = ws.transport.get_extra_info("ssl_object")
        if tls is not None:
            print(json.dumps({"tls": [tls.version(), tls.cipher()[0]]}), flush=True)
        connections += 1
        Live.cp = Charger(IDENTITY, ws)
        listener = asyncio.create_task(Live.cp.start())
        try:
            await boot(Live.cp)
        except websockets.exceptions.ConnectionClosed:
            listener.cancel()
            continue
        if commands_done is None:
            print("READY", flush=True)
            commands_done = asyncio.create_task(run_commands())
        else:
            print(json.dumps({"connected": connections}), flush=True)
        await asyncio.wait({listener, commands_done}, return_when=asyncio.FIRST_COMPLETED)
        if listener.done() and not listener.cancelled():
            listener.exception()  # the socket closed: reconnect below
        if commands_done.done():
            listener.cancel()
            await ws.close()
            return
        if not Credentials.next_password:
            # Closed by the CSMS (another connection took the identity, or
            # it shut down): stay away, as the tests that move a charger expect.
            await commands_done
            return
        Credentials.password, Credentials.next_password = Credentials.next_password, None


async def run_commands():
    try:
        await asyncio.wait_for(commands(), SECONDS)
    except asyncio.TimeoutError:
        pass


async def probe(password):
    try:
        ws = await connect(password)
    except websockets.exceptions.InvalidStatus as e:
        return {"status": e.response.status_code}
    await ws.close()
    return {"status": 101}


async def commands():
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            await asyncio.sleep(SECONDS)
            return
        words = line.split()
        cp = Live.cp
        if words[0] == "start":
            reservation = None if words[3] == "-" else int(words[3])
            if len(words) > 4:
                result = await cp.start_charging(int(words[1]), words[2], reservation, words[4])
            else:
                result = await cp.start_charging(int(words[1]), words[2], reservation)
        elif words[0] == "status":
            result = await cp.status(int(words[1]), words[2])
        elif words[0] == "authorize":
            result = await cp.authorize(words[1])
        elif words[0] == "offline" and hasattr(cp, "offline"):
            result = await cp.offline(int(words[1]), words[2], int(words[3]), int(words[4]),
                                      int(words[5]))
        elif words[0] == "meter" and hasattr(cp, "meter"):
            result = await cp.meter(int(words[1]), words[2], int(words[3]))
        elif words[0] == "reservation_status" and hasattr(cp, "reservation_status"):
            result = await cp.reservation_status(words[1], words[2])
        elif words[0] == "notify_event" and hasattr(cp, "notify_event"):
            result = await cp.notify_event(words[1], words[2])
        elif words[0] == "data_transfer":
            message, data = (None if w == "-" else w for w in words[2:4])
            result = await cp.data_transfer(words[1], message, data)
        elif words[0] == "probe":
            result = await probe(words[1])
        elif words[0] == "update" and hasattr(cp, "update_charging"):
            evse = int(words[4]) if len(words) > 4 else None
            result = await cp.update_charging(words[1], int(words[2]), words[3], evse)
        elif words[0] == "start_before_plug" and hasattr(cp, "start_before_plug"):
            result = await cp.start_before_plug(words[1], words[2])
        elif words[0] == "local_list":
            result = {"version": LocalList.version, "entries": LocalList.entries}
        elif words[0] == "stop":
            result = await cp.stop_charging(words[1], int(words[2]))
        # --- security ---
        elif words[0] == "sign_certificate":
            result = await cp.send_sign_certificate(words[1] if len(words) > 1 else None)
        elif words[0] == "sign_garbage":
            result = await cp.send_sign_certificate(csr="-----BEGIN CERTIFICATE REQUEST-----\nnot a csr\n-----END CERTIFICATE REQUEST-----\n")
        elif words[0] == "security_event":
            result = await cp.security_event(words[1], " ".join(words[2:]) or None)
        elif words[0] == "ev_certificate" and hasattr(cp, "ev_certificate"):
            result = await cp.ev_certificate()
        elif words[0] == "certificate_status" and hasattr(cp, "certificate_status"):
            result = await cp.certificate_status()
        # --- end security ---
        elif words[0] in SMART_COMMANDS:
            result = await SMART_COMMANDS[words[0]](cp, *words[1:])
        else:
            result = {"error": f"unknown command {words[0]}"}
        print(json.dumps({"result": result}, default=str), flush=True)


asyncio.run(main())

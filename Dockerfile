# Build: docker build -t evgate .
FROM rust:1.95-slim-bookworm AS build
# The default openssl-tls feature (OCPP_TLS_BACKEND=openssl) links libssl;
# the jemalloc allocator is built with make.
RUN apt-get update && apt-get install -y --no-install-recommends libssl-dev pkg-config make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin evgate

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --home /var/lib/evgate --create-home evgate
COPY --from=build /src/target/release/evgate /usr/local/bin/evgate
USER evgate
WORKDIR /var/lib/evgate
EXPOSE 7103 9000 9443
ENTRYPOINT ["/usr/local/bin/evgate"]

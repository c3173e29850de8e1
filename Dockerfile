# syntax=docker/dockerfile:1
# Multi-stage build: the binary and the bundled plugins are built with the
# Go toolchain; the runtime image holds only them, and runs as non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build plugins

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/sluice --create-home sluice
COPY --from=build /src/bin/sluice /usr/local/bin/sluice
# The embedded default config loads the example plugin from this relative path.
COPY --from=build --chown=sluice /src/sdk/go/example/json-field-mask.wasm /var/lib/sluice/sdk/go/example/json-field-mask.wasm
USER sluice
WORKDIR /var/lib/sluice
ENV SLUICE_DATA_DIR=/var/lib/sluice/data \
    SLUICE_ADMIN__LISTEN=0.0.0.0:9090
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/sluice"]
CMD ["serve"]

# nudge: one image with every binary, the default flows and templates.
# Build: docker build -t nudge:dev .   (here: ../shared/tools/image build nudge:dev .)
FROM debian:bookworm AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        gcc make libc6-dev libevent-dev libcurl4-openssl-dev libjansson-dev \
        libhiredis-dev libssl-dev ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile VERSION ./
COPY scripts scripts
COPY include include
COPY src src
COPY cmd cmd
RUN make -j2 WERROR=1 all && make install PREFIX=/opt/nudge
COPY config /opt/nudge/share/nudge/config
COPY templates /opt/nudge/share/nudge/templates

FROM debian:bookworm-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        libevent-2.1-7 libevent-pthreads-2.1-7 libcurl4 libjansson4 libhiredis0.14 \
        libssl3 ca-certificates curl tzdata >/dev/null && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/nudge --create-home nudge
COPY --from=build /opt/nudge /opt/nudge
ENV PATH=/opt/nudge/bin:$PATH \
    NUDGE_FLOWS_FILE=/opt/nudge/share/nudge/config/flows.json \
    NUDGE_TEMPLATES_DIR=/opt/nudge/share/nudge/templates \
    NUDGE_LISTEN=0.0.0.0:8080 \
    NUDGE_OUTBOX_DIR=/var/lib/nudge/outbox
USER nudge
WORKDIR /var/lib/nudge
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
CMD ["nudge-server"]

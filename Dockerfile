# Build: docker build -t docpush .
# Run:   docker run -p 8080:8080 -v docpush-data:/data docpush
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
COPY scripts/setup /tmp/setup
# Debian packages and the pinned pdfium library, as on a development machine.
RUN apt-get update && /tmp/setup && rm -rf /var/lib/apt/lists/* /tmp/setup
RUN useradd --system --home /data docpush && mkdir -p /data && chown docpush /data
COPY --from=build /src/target/release/docpush /usr/local/bin/docpush
USER docpush
WORKDIR /data
ENV DOCPUSH_BIND=0.0.0.0:8080 DOCPUSH_DATA_DIR=/data OMP_THREAD_LIMIT=1
EXPOSE 8080
HEALTHCHECK CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["docpush"]
CMD ["serve"]

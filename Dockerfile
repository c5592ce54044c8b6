# Build: docker build -t docpush .
# Run:   docker run -p 8080:8080 -v docpush-data:/data docpush
# scripts/check-image replays the runtime stage in a fresh Debian root (no container engine needed).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The build needs Tesseract's and Leptonica's headers and clang (for the bindings);
# scripts/setup installs them and the pinned libpdfium.so into /usr/local/lib.
RUN apt-get update && ./scripts/setup && cargo build --release --locked

FROM debian:bookworm-slim
# Runtime libraries only: Tesseract with its English data, CA certificates, curl for the healthcheck.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl tesseract-ocr tesseract-ocr-eng && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/lib/libpdfium.so /usr/local/lib/libpdfium.so
COPY --from=build /src/target/release/docpush /usr/local/bin/docpush
RUN useradd --system --home /data docpush && mkdir -p /data && chown docpush /data && chmod 0700 /data
USER docpush
WORKDIR /data
ENV DOCPUSH_BIND=0.0.0.0:8080 DOCPUSH_DATA_DIR=/data OMP_THREAD_LIMIT=1
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["docpush"]
CMD ["serve"]

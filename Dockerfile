# syntax=docker/dockerfile:1
# Multi-stage build of the genzai gateway: a static binary (pure Go, SQLite
# included) on a distroless base, running as an unprivileged user.
#
#   docker build -t genzai .
#   docker run -p 8000:8000 -e DATABASE_URL=postgres://... -e JWT_SECRET=... genzai

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so that source changes do not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
    -o /out/genzai ./cmd/genzai
# The SQLite default needs a writable data directory owned by the runtime user.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/genzai /usr/local/bin/genzai
COPY --from=build --chown=65532:65532 /out/data /app/data
WORKDIR /app
USER 65532:65532
ENV ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    GENZAI_HOST=http://127.0.0.1:8000
EXPOSE 8000
# Alive and ready (the CLI exits 1 otherwise); distroless has no shell or curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/genzai", "health"]
# serve applies pending migrations (safe when several start at once), then
# serves until SIGTERM, letting in-flight requests and streams finish.
ENTRYPOINT ["/usr/local/bin/genzai"]
CMD ["serve"]

# kspm image: `docker build -t kspm .` (the Terraform module terraform/modules/kspm-service
# deploys it). Multi-stage: a release build, then a distroless runtime as a non-root user.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin kspm && strip target/release/kspm

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/kspm /usr/local/bin/kspm
USER 65532:65532
EXPOSE 50051 9464
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/kspm"]
CMD ["serve", "--config", "/etc/kspm/kspm.toml"]

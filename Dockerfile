# pgtap-scan in an image, for GitLab CI's `image:` (and any other runner): no ENTRYPOINT,
# so a job's `script:` lines run in a shell as GitLab expects. git is there for --since.
#   docker build -t pgtap-scan .
#   docker run --rm -v "$PWD:/src" -w /src pgtap-scan pgtap-scan tests --schema migrations
FROM rust:1.85-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo install --locked --path . --root /out

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/bin/pgtap-scan /usr/local/bin/pgtap-scan
CMD ["pgtap-scan", "--help"]

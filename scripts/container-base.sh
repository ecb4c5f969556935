#!/usr/bin/env bash
# Makes the local base image localhost/trusted-backend-base:bookworm from Debian
# packages (mmdebstrap, Debian 12's python3), for machines that cannot pull
# python:3.12-slim. Safe to run again: does nothing when the image exists.
#   podman build --build-arg BASE_IMAGE=localhost/trusted-backend-base:bookworm .
set -euo pipefail
cd "$(dirname "$0")/.."
image=${BASE_IMAGE_NAME:-localhost/trusted-backend-base:bookworm}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/containers.conf}
if podman image exists "$image"; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "building the base image $image from Debian packages" >&2
mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$work/rootfs.tar"
podman import --quiet "$work/rootfs.tar" "$image" >/dev/null

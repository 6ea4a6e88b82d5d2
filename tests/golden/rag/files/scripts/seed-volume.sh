#!/bin/sh
# Docker's copy-up for a new volume, run by an init container from the service's own image as root:
# for each "TARGET=DIR" argument, when DIR (the claim, mounted where the app will see it at TARGET) is
# empty, copy the image's content at TARGET into it with its ownership and modes, and give DIR the owner
# and mode of the image's TARGET directory, as `docker compose up` does for a new named volume. OWNER
# (the compose service's numeric `user`, "uid:gid" or "uid") then owns DIR when the image has no
# TARGET, so a non-root user can write its fresh volume. A volume that holds anything is left as it is.
# Every command is the static busybox in $BB (copied from the seed image), so images without a shell,
# cp or chown (distroless, scratch) are seeded the same way.
set -eu
BB=${BB:-/seed-tools/busybox}

is_empty() {
  for entry in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    return 1
  done
  return 0
}

for pair in "$@"; do
  target=${pair%%=*}
  dir=${pair#*=}
  if ! is_empty "$dir"; then
    echo "seed: ${target}: the volume holds data; left as it is"
    continue
  fi
  # A storage that refuses root (NFS with root_squash) cannot be seeded: say so, and let the app start
  # on the volume as the storage gives it rather than keep the pod from starting.
  if [ -d "$target" ]; then
    if "$BB" cp -a "$target/." "$dir/" && "$BB" chown "$("$BB" stat -c %u:%g "$target")" "$dir" \
        && "$BB" chmod "$("$BB" stat -c %a "$target")" "$dir"; then
      echo "seed: ${target}: copied the image's content into the new volume"
    else
      echo "seed: ${target}: could not copy the image's content or owner into the volume (the storage refuses root?)"
    fi
  elif [ -n "${OWNER:-}" ]; then
    if "$BB" chown "$OWNER" "$dir"; then
      echo "seed: ${target}: the image has no such directory; the new volume belongs to ${OWNER}"
    else
      echo "seed: ${target}: could not give the volume to ${OWNER} (the storage refuses root?)"
    fi
  else
    echo "seed: ${target}: the image has no such directory; the new volume is left empty"
  fi
done

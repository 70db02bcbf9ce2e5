# shellcheck shell=bash
# Shared locations for the project's scripts. Caches live outside the work tree so a fresh clone reuses them.
KRE_CACHE="${KRE_CACHE:-$HOME/.cache/kafka-rest-edge}"
KRE_TOOLS="${KRE_TOOLS:-$KRE_CACHE/tools}"
export KRE_CACHE KRE_TOOLS
export PATH="$KRE_TOOLS/bin:$PATH"

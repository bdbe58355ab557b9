#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing: Chromium for the
# browser tests (driven by Playwright, never downloaded by it), the libraries WeasyPrint uses, and
# the tools the documentation's runnable examples are run with (curl, jq, Node.js).
set -euo pipefail

packages=(chromium libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core curl jq nodejs)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null; then
  sudo="sudo"
else
  echo "system-deps: need root to install ${missing[*]} (apt-get install -y ${missing[*]})" >&2
  exit 1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

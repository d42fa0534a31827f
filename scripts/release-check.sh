#!/usr/bin/env bash
# release-check.sh: dry-run the release locally; publishes nothing.
#
# Checks that
#   1. .goreleaser.yaml is valid                  (goreleaser check)
#   2. a snapshot release builds                  (goreleaser release --snapshot --clean --skip=publish)
#      with dist/ in a temp dir, so the work tree is left exactly as it was
#   3. all 6 archives (linux/darwin/windows x amd64/arm64) exist and hold
#      the binary, README.md and LICENSE
#   4. checksums.txt verifies                     (sha256sum -c)
#   5. the binary for this machine, taken from its archive, runs `gdask version`
#      and prints the stamped snapshot version and the HEAD commit
#
# Needs go, git and a checkout with at least one commit (a dirty tree is fine
# for a snapshot). goreleaser comes from the Go module proxy at a pinned
# version; building it the first time takes a few minutes, then it is cached.
set -euo pipefail

GORELEASER_VERSION=v2.16.0 # newest v2 whose go.mod accepts Go 1.26 and that builds here
goreleaser() { go run "github.com/goreleaser/goreleaser/v2@${GORELEASER_VERSION}" "$@"; }

cd "$(dirname "$0")/.."
git rev-parse -q --verify HEAD >/dev/null ||
	{ echo "release-check: needs a git checkout with at least one commit" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dist=$tmp/dist
before=$(git status --porcelain --ignored)

# Without a git remote goreleaser ignores all git info in snapshot mode and
# stamps commit "none"; give it a placeholder through the environment only.
if [ -z "$(git remote)" ]; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/gdask/gdask.git
fi

# The same config, with dist/ moved out of the work tree.
{ cat .goreleaser.yaml; printf '\ndist: %s\n' "$dist"; } >"$tmp/goreleaser.yaml"

goreleaser check --config .goreleaser.yaml
goreleaser release --config "$tmp/goreleaser.yaml" --snapshot --clean --skip=publish

version=$(grep -o '"version":"[^"]*"' "$dist/metadata.json" | head -n1 | cut -d'"' -f4)
commit=$(git rev-parse HEAD)

for os in linux darwin windows; do
	for arch in amd64 arm64; do
		archive=$dist/gdask_${version}_${os}_${arch}.tar.gz bin=gdask
		[ "$os" = windows ] && archive=${archive%.tar.gz}.zip bin=gdask.exe
		[ -f "$archive" ] || { echo "release-check: missing $archive" >&2; exit 1; }
		case $archive in *.zip) list=$(unzip -Z1 "$archive") ;; *) list=$(tar -tzf "$archive") ;; esac
		for f in README.md LICENSE "$bin"; do
			grep -qx "$f" <<<"$list" || { echo "release-check: $f not in $archive" >&2; exit 1; }
		done
	done
done

(cd "$dist" && sha256sum --quiet -c checksums.txt)

mkdir "$tmp/x"
tar -xzf "$dist/gdask_${version}_$(go env GOHOSTOS)_$(go env GOHOSTARCH).tar.gz" -C "$tmp/x"
out=$("$tmp/x/gdask" version)
case $out in
*"$version"*"$commit"*) ;;
*) echo "release-check: 'gdask version' printed '$out', want version $version and commit $commit" >&2; exit 1 ;;
esac

[ "$(git status --porcelain --ignored)" = "$before" ] || { echo "release-check: the work tree changed" >&2; exit 1; }

echo "release-check: ok (goreleaser $GORELEASER_VERSION, 6 archives, checksums verified)"
echo "release-check: $out"

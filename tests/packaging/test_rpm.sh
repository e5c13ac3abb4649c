#!/bin/bash
# Packaging test: builds rpm/mcrd.spec with Debian's rpmbuild (Fedora's
# macros from macros.fedora) from a `meson dist` tarball of this tree, which
# also proves that the dist tarball builds and passes the unit tests from a
# clean extract (the spec's %check). Then the package's file list must equal
# what `meson install` of the same build puts in a DESTDIR: a missing or an
# extra file fails.
#
# Duration: one build of the whole tree. To keep CI short it compiles with
# MCRD_RPM_OPTFLAGS (default "-O0": the spec, %check and the file list do not
# depend on it); MCRD_RPM_OPTFLAGS="-O2 -g" is the Fedora-like release build
# (several times longer). The unit tier already runs under ASan in CI, so
# the package is built --without check there; MCRD_RPM_CHECK=1 builds it
# with its %check (the unit tier on the tarball's build) and checks that it
# ran. MCRD_RPM_MESON_ARGS (default "--unity=on") is added to %meson's
# `meson setup`: a unity build compiles each library as a few large
# translation units, so the JSON and CLI11 headers are parsed and
# instantiated a few times instead of once per file (CI's builds of the
# sanitizer tree and the fuzzers do the same; ./build stays a file-by-file
# build, as distributions build). MCRD_RPM_MESON_ARGS= builds file by file.
#
#   test_rpm.sh SOURCE_ROOT
#
# The tarball: `meson dist` packs what git has committed, so the tree's
# tracked and untracked (not ignored) files are first copied into a scratch
# git repository and committed there. On a clean clone (CI) that is exactly
# HEAD; in a working tree it includes the edits not yet committed. The
# project's own repository is only read.
set -euo pipefail

SOURCE_ROOT=$(cd "${1:?usage: test_rpm.sh SOURCE_ROOT}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/check.sh"   # die, skip, log: the vocabulary of every shell tier
START=$SECONDS

for tool in rpmbuild rpm git meson xz; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (apt-get install -y rpm)"
done

SCRATCH=$(mktemp -d /tmp/mcrd-rpm.XXXXXX)
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { rm -rf "$SCRATCH"; }
trap cleanup EXIT

step() { echo "[$((SECONDS - START))s] $*"; }

step "snapshot of the tree into a scratch git repository"
SNAPSHOT=$SCRATCH/src
mkdir "$SNAPSHOT"
git -C "$SOURCE_ROOT" ls-files -z --cached --others --exclude-standard |
    (cd "$SOURCE_ROOT" && while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
    tar -C "$SOURCE_ROOT" --null -T - -cf - | tar -C "$SNAPSHOT" -xf -
git -C "$SNAPSHOT" init -q
git -C "$SNAPSHOT" add -A
git -C "$SNAPSHOT" -c user.name=mcrd-test -c user.email=mcrd-test@invalid commit -q -m snapshot

step "meson dist"
meson setup "$SCRATCH/dist-build" "$SNAPSHOT" >"$SCRATCH/dist-setup.log" 2>&1 ||
    { cat "$SCRATCH/dist-setup.log"; die "meson setup of the snapshot"; }
VERSION=$(meson introspect --projectinfo "$SCRATCH/dist-build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
SPEC_VERSION=$(sed -n 's/^Version:[[:space:]]*//p' "$SNAPSHOT/rpm/mcrd.spec")
[ "$VERSION" = "$SPEC_VERSION" ] || die "rpm/mcrd.spec has Version $SPEC_VERSION, meson.build says $VERSION"
meson dist -C "$SCRATCH/dist-build" --no-tests --formats xztar >"$SCRATCH/dist.log" 2>&1 ||
    { cat "$SCRATCH/dist.log"; die "meson dist"; }
TARBALL=$SCRATCH/dist-build/meson-dist/mcrd-$VERSION.tar.xz
[ -f "$TARBALL" ] || die "meson dist made no $TARBALL"

rpm_meson_args=${MCRD_RPM_MESON_ARGS---unity=on} meson_args=()
[[ -n "$rpm_meson_args" ]] && meson_args=(--define "_mcrd_meson_test_args $rpm_meson_args")
rpm_check=(--without check)
[[ "${MCRD_RPM_CHECK:-0}" == 1 ]] && rpm_check=(--with check)
step "rpmbuild -bb ${rpm_check[*]}"
TOP=$SCRATCH/rpmbuild
mkdir -p "$TOP/SOURCES"
cp "$TARBALL" "$TOP/SOURCES/"
cp "$SNAPSHOT/sysusers.d/mcrd.conf" "$TOP/SOURCES/mcrd.sysusers"
# --nodeps: BuildRequires name Fedora packages, which Debian's empty rpm
# database cannot see; tools/packages.txt installed their Debian equivalents.
# --noclean: the build directory is needed afterwards for `meson install`.
if ! rpmbuild -bb --nodeps --noclean "${rpm_check[@]}" \
        --load="$HERE/macros.fedora" \
        --define "_topdir $TOP" \
        --define "_mcrd_packaging_dir $HERE" \
        --define "_smp_build_ncpus 2" \
        --define "optflags ${MCRD_RPM_OPTFLAGS:--O0}" \
        "${meson_args[@]}" \
        "$SNAPSHOT/rpm/mcrd.spec" >"$SCRATCH/rpmbuild.log" 2>&1; then
    tail -n 80 "$SCRATCH/rpmbuild.log"
    die "rpmbuild -bb rpm/mcrd.spec"
fi
if [[ "${rpm_check[0]}" == --with ]]; then
    grep -E '^(Ok|Fail|Skipped|Expected Fail|Unexpected Pass|Timeout):' "$SCRATCH/rpmbuild.log" | sed 's/^/  %check unit tests: /'
    grep -q '^Ok:[[:space:]]*[1-9]' "$SCRATCH/rpmbuild.log" || die "%check ran no unit test"
fi
mapfile -t PACKAGES < <(find "$TOP/RPMS" -name '*.rpm' | sort)
[ "${#PACKAGES[@]}" -eq 2 ] || die "expected mcrd and mcrd-cockpit, got: ${PACKAGES[*]}"

step "meson install --destdir of the same build"
BUILD=$(find "$TOP/BUILD" -maxdepth 2 -type d -name redhat-linux-build | head -n 1)
[ -n "$BUILD" ] || { find "$TOP/BUILD" -maxdepth 3 | head -n 20; tail -n 30 "$SCRATCH/rpmbuild.log"; die "no redhat-linux-build directory under $TOP/BUILD"; }
DESTDIR=$SCRATCH/destdir meson install -C "$BUILD" --no-rebuild --quiet

step "compare the file lists"
# rpm: "MODE PATH" per entry; man pages are gzipped by brp-compress (as on
# Fedora), so ".gz" is dropped to compare with meson's names.
rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "${PACKAGES[@]}" >"$SCRATCH/rpm.entries"
# /usr/lib/.build-id holds the links rpm itself adds for every ELF file (as
# on Fedora); they are no packaging choice and are left out.
grep -v ' /usr/lib/\.build-id' "$SCRATCH/rpm.entries" >"$SCRATCH/rpm.own" || true
awk '$1 !~ /^d/ {print $2}' "$SCRATCH/rpm.own" | sed 's|^\(/usr/share/man/.*\)\.gz$|\1|' | sort >"$SCRATCH/rpm.files"
awk '$1 ~ /^d/ {print $2}' "$SCRATCH/rpm.own" | sort >"$SCRATCH/rpm.dirs"
(cd "$SCRATCH/destdir" && find . \( -type f -o -type l \) | sed 's|^\.||') | sort >"$SCRATCH/meson.files"
# The directories that are the package's own: named after it, and below those.
(cd "$SCRATCH/destdir" && find . -type d -path '*/mcr*' | sed 's|^\.||') | sort >"$SCRATCH/meson.dirs"

# What the spec adds on its own (%license, %doc) and owns beyond meson.
printf '%s\n' \
    /usr/share/licenses/mcrd/LICENSE \
    /usr/share/doc/mcrd/README.md \
    /usr/share/doc/mcrd/examples/README.md \
    /usr/share/doc/mcrd/examples/mcrd.json \
    /usr/share/doc/mcrd/examples/mcr-config.json5 | sort >"$SCRATCH/spec-only.files"
printf '%s\n' /etc/mcrd /usr/share/licenses/mcrd | sort >"$SCRATCH/spec-only.dirs"

# check_none WHAT LIST: a check that LIST (one entry a line) is empty.
check_none() { if [ -z "$2" ]; then ok "$1: none"; else fail "$1:"$'\n'"$2"; fi; }
missing=$(comm -23 "$SCRATCH/meson.files" "$SCRATCH/rpm.files")
extra=$(comm -13 "$SCRATCH/meson.files" "$SCRATCH/rpm.files" | comm -23 - "$SCRATCH/spec-only.files")
absent_doc=$(comm -23 "$SCRATCH/spec-only.files" "$SCRATCH/rpm.files")
unowned=$(comm -23 "$SCRATCH/meson.dirs" "$SCRATCH/rpm.dirs")
stray_dirs=$(comm -13 "$SCRATCH/meson.dirs" "$SCRATCH/rpm.dirs" | comm -23 - "$SCRATCH/spec-only.dirs")
check_none "installed by meson but not in the package" "$missing"
check_none "in the package but not installed by meson" "$extra"
check_none "%license/%doc files missing from the package" "$absent_doc"
check_none "directories of the package it does not own" "$unowned"
check_none "directories the package owns for no reason" "$stray_dirs"

step "scriptlets"
rpm -qp --scripts "${PACKAGES[@]}" >"$SCRATCH/scripts"
for wanted in "useradd -r -g 'mcrd'" "groupadd -r  'mcr'" "install-system-units mcrd.socket mcrd.service" \
              "remove-system-units mcrd.socket mcrd.service" "mark-restart-system-units mcrd.service" \
              "useradd -r -g 'mcrd-metrics'" "mcrd-metrics.socket mcrd-metrics.service" \
              "systemd-sysctl 50-mcrd.conf" "'mcrd-worker@*.service'"; do
    if grep -qF -- "$wanted" "$SCRATCH/scripts"; then ok "a scriptlet runs: $wanted"; else fail "no scriptlet runs: $wanted"; fi
done

echo "package files: $(wc -l <"$SCRATCH/rpm.files") (meson install: $(wc -l <"$SCRATCH/meson.files")," \
     "spec-only: $(wc -l <"$SCRATCH/spec-only.files")); directories owned: $(wc -l <"$SCRATCH/rpm.dirs")"
finish "rpm: built from the meson dist tarball, files and scriptlets as meson installs them"

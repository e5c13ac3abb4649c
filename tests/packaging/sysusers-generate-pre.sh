#!/bin/sh
# Test-only stand-in for systemd-rpm-macros' sysusers.generate-pre.sh: turns
# sysusers.d lines into the useradd/groupadd shell a %pre scriptlet runs on
# systems whose rpm does not apply sysusers.d files itself. Handles the
# line types mcrd uses (u, g, m); anything else is an error.
set -eu
for file in "$@"; do
    # Fields may be quoted ("Multicast relay supervisor"): let the shell split them.
    grep -v '^[[:space:]]*\(#\|$\)' "$file" | while IFS= read -r line; do
        eval "set -- $line"
        type=$1 name=$2 id=${3:--} gecos=${4:-} home=${5:-/} shell=${6:-/sbin/nologin}
        case $type in
        u)
            [ "$id" = - ] && uid_opt="" || uid_opt="-u '$id'"
            echo "getent group '$name' >/dev/null || groupadd -r '$name' || :"
            echo "getent passwd '$name' >/dev/null || useradd -r -g '$name' $uid_opt -d '$home' -s '$shell' -c '$gecos' '$name' || :"
            ;;
        g)
            [ "$id" = - ] && gid_opt="" || gid_opt="-g '$id'"
            echo "getent group '$name' >/dev/null || groupadd -r $gid_opt '$name' || :"
            ;;
        m)
            echo "getent group '$id' >/dev/null || groupadd -r '$id' || :"
            echo "usermod -a -G '$id' '$name' || :"
            ;;
        *)
            echo "sysusers-generate-pre.sh: unsupported line type '$type' in $file" >&2
            exit 1
            ;;
        esac
    done
done

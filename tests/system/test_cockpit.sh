#!/bin/bash
# The Cockpit page "Multicast relay" in a real browser (about 90 s): cockpit-ws
# on the container's loopback (--no-tls), headless Chromium driven through
# chromedriver by lib/cockpit_browser.py. Operator bob (group mcr) starts
# mcrd.socket from the page, gets a field error for a bad group, adds a rule,
# sees its counter rise with traffic and equal `mcrctl stats` within one
# refresh, adds a rule whose output requires listeners (the form's "Only
# while listeners are present") and sees it holding with its exact held
# count, then sending once a host joins, sees mcrd@NS in the picker, removes the rule; alice is denied.
# Screenshots: $MESON_BUILD_ROOT/cockpit-screenshots/ (path printed).
. "$(dirname "$0")/lib/preamble.sh"
build=${MESON_BUILD_ROOT:?run through meson test}

[[ $(id -u) -eq 0 ]] || skip "the Cockpit browser test needs root (it boots a container)"
for tool in /usr/lib/cockpit/cockpit-ws /usr/bin/cockpit-bridge /usr/bin/chromium /usr/bin/chromedriver; do
    [[ -x "$tool" ]] || skip "$tool missing (Debian: cockpit-ws cockpit-bridge cockpit-system chromium chromium-driver)"
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || skip "python3-selenium missing"
# Not `| grep -q` (pipefail: grep leaving early can fail meson's next write).
[[ $(meson introspect --installed "$build" 2>/dev/null) == *'/cockpit/mcrd/index.html'* ]] ||
    skip "$build does not install the Cockpit page (-Dcockpit=disabled, or no cockpit-bridge at configure time)"

system_boot --topology
ns=ck$$
port=9191
password="mcrt-$$-$RANDOM"
shots=$build/cockpit-screenshots
inner_shots=/var/tmp/mcrt-cockpit-shots

sys_exec ip netns add "$ns"
sys_exec systemctl start "mcrd@$ns.service" || die "start mcrd@$ns"

# Login passwords and homes for the test accounts boot.sh made (bob: group
# mcr, granted org.mcr.relay.* by the operators rule; alice: nothing).
printf 'bob:%s\nalice:%s\n' "$password" "$password" | sys_exec chpasswd
for user in bob alice; do
    sys_exec install -d -o "$user" -g "$user" -m 0700 "/home/$user"
done
# Test-only grant: bob may start mcrd sockets (the page's "Start mcrd.socket").
cat >"$BOOT_ROOT/etc/polkit-1/rules.d/50-mcrt-cockpit.rules" <<'EOF'
polkit.addRule(function(action, subject) {
    if (action.id == "org.freedesktop.systemd1.manage-units" && subject.user == "bob" &&
        /^mcrd(@[^.]+)?\.socket$/.test(action.lookup("unit") || "")) {
        return polkit.Result.YES;
    }
    return polkit.Result.NOT_HANDLED;
});
EOF

check_eq "mcrd.socket stopped before the page starts it" inactive "$(sys_prop mcrd.socket ActiveState)"
sys_exec systemd-run --quiet --unit=mcrt-cockpit-ws --property=Type=exec \
    /usr/lib/cockpit/cockpit-ws --no-tls --address 127.0.0.1 --port "$port"
sys_wait_for 30 python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 5)" ||
    die "cockpit-ws does not answer on 127.0.0.1:$port"

# The script is copied into the container's root: the host checkout may lie
# under /tmp, which systemd-tmpfiles empties in the container at boot.
install -D -m 0644 "$here/lib/cockpit_browser.py" "$BOOT_ROOT/usr/local/libexec/mcrt/cockpit_browser.py"
started=$SECONDS
sys_exec timeout 240 python3 /usr/local/libexec/mcrt/cockpit_browser.py --url "http://127.0.0.1:$port" \
    --password "$password" --shots "$inner_shots" --src-ns "$p-src" --dst-ns "$p-dst" --ns "$ns" --count 3000 --rate 500 \
    >"$BOOT_DIR/browser.log" 2>&1
rc=$?
echo "# browser session: $((SECONDS - started)) s, exit $rc"
while IFS= read -r line; do
    case "$line" in
        "ok   - "*) ok "${line#ok   - }" ;;
        "FAIL - "*) fail "${line#FAIL - }" ;;
        *) echo "# $line" ;;
    esac
done <"$BOOT_DIR/browser.log"
check_eq "browser session exit status" 0 "$rc"
check_eq "mcrd.socket started from the page" active "$(sys_prop mcrd.socket ActiveState)"

rm -rf "$shots"
mkdir -p "$shots"
cp "$BOOT_ROOT$inner_shots"/*.png "$shots"/ 2>/dev/null
echo "# screenshots: $shots"
for shot in "$shots"/*.png; do
    [[ -e "$shot" ]] && echo "#   ${shot##*/}"
done
sys_exec journalctl -u mcrt-cockpit-ws --no-pager -q 2>/dev/null | tail -n 5 | sed 's/^/# cockpit-ws: /'

finish

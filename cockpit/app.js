// The page: picks the relay instance (?ns=NAME in the URL), refreshes rules,
// counters and workers at 1 Hz (and at once on RuleAdded/RuleRemoved),
// offers to start the socket when the daemon is stopped, and turns failed
// writes into a denial or field message the operator can act on.

import { Relay, busName, isNameMissing, unitName, wake } from "./relay.js";
import { listNamespaces, startUnit, unitState } from "./systemd.js";
import { HealthHistory, RateHistory, el, renderRules, renderWorkers } from "./view.js";
import { RuleForm } from "./form.js";
import { deniedText, describe, isDenied, isValidation } from "./errors.js";

const $ = id => document.getElementById(id);
const REFRESH_MS = 1000;
const PICKER_EVERY = 5;   // refreshes between namespace list updates
const RUNNING = new Set(["active", "activating", "reloading"]);

const state = {
    ns: null,
    relay: null,
    history: new RateHistory(),
    healthHistory: new HealthHistory(),
    busy: false,
    tick: 0,
    user: "",
};
const form = new RuleForm();

function showAlert(node, text, kind) {
    node.textContent = text;
    node.className = `alert ${kind || ""}`;
    node.hidden = !text;
}

// "" for the host instance.
function currentNamespace() {
    return cockpit.location.options.ns || "";
}

// The bus client is made only while the daemon runs: any call to the host
// instance would bus-activate it behind the operator's back.
function disconnect() {
    if (state.relay)
        state.relay.close();
    state.relay = null;
}

function relayClient() {
    if (!state.relay) {
        state.relay = new Relay(state.ns);
        state.relay.onRulesChanged(() => refresh());
    }
    return state.relay;
}

function connect(ns) {
    disconnect();
    state.ns = ns;
    state.history = new RateHistory();
    state.healthHistory = new HealthHistory();
    const socket = unitName(ns, "socket");
    $("start-socket").textContent = `Start ${socket}`;
    $("not-running-units").textContent = `${unitName(ns, "service")} (${socket})`;
    $("relay").hidden = true;
    $("not-running").hidden = true;
    $("instance-status").textContent = `${busName(ns)} · connecting…`;
    showAlert($("alert"), "");
    showAlert($("form-alert"), "");
    form.clearErrors();
}

// Not running = neither the service nor its socket is up: a call would only
// bus-activate the host instance (mcrd@NS has no bus activation).
async function daemonRunning(ns) {
    try {
        const [service, socket] = await Promise.all([unitState(unitName(ns, "service")),
                                                     unitState(unitName(ns, "socket"))]);
        return RUNNING.has(service.active) || RUNNING.has(socket.active);
    } catch (_) {
        return true;   // no systemd to ask: let the relay call tell
    }
}

async function workerUnitStates(workers) {
    const states = {};
    await Promise.all(workers.filter(w => w.unit.endsWith(".service")).map(w =>
        unitState(w.unit).then(s => { states[w.unit] = s }, () => {})));
    return states;
}

function renderHeader(snapshot) {
    const p = snapshot.properties;
    const rules = snapshot.rules.length;
    $("instance-status").textContent =
        `${busName(state.ns)} · version ${p.Version || "?"} · ${rules} rule${rules === 1 ? "" : "s"} · ` +
        `${snapshot.workers.length} worker${snapshot.workers.length === 1 ? "" : "s"} · log level ${p.LogLevel || "?"}`;
    $("rule-count").textContent = String(rules);
}

function render(snapshot, unitStates) {
    const now = Date.now();
    for (const rule of snapshot.rules)
        state.history.add(rule.name, now, snapshot.stats[rule.name] || {});
    state.history.retain(new Set(snapshot.rules.map(r => r.name)));
    state.healthHistory.retain(new Set(snapshot.rules.map(r => r.name)));
    renderHeader(snapshot);
    renderRules(document.querySelector("#rules tbody"), snapshot, state.history, state.healthHistory, removeRule);
    $("rules").hidden = snapshot.rules.length === 0;
    $("rules-empty").hidden = snapshot.rules.length !== 0;
    renderWorkers(document.querySelector("#workers tbody"), snapshot.workers, unitStates);
    $("workers").hidden = snapshot.workers.length === 0;
    $("workers-empty").hidden = snapshot.workers.length !== 0;
}

async function refreshPicker() {
    const select = $("namespace");
    let namespaces = [];
    try {
        namespaces = await listNamespaces();
    } catch (_) {
        // keep what is there: the host instance is always offered
    }
    if (state.ns && !namespaces.includes(state.ns))
        namespaces.push(state.ns);
    const options = [el("option", { value: "" }, "host (org.mcr.Relay)"),
        ...namespaces.map(ns => el("option", { value: ns }, `${ns} (${busName(ns)})`))];
    const wanted = options.map(o => o.value).join("\n");
    if (select.dataset.options !== wanted) {
        select.replaceChildren(...options);
        select.dataset.options = wanted;
    }
    select.value = state.ns;
}

// A read failed: an idle daemon is woken through its socket (the next tick
// reads it), anything else is shown until a read succeeds again.
async function readFailed(ns, error) {
    const alert = $("alert");
    alert.dataset.source = "refresh";
    if (isNameMissing(error)) {
        disconnect();
        $("instance-status").textContent = `${busName(ns)} · idle, starting it through ${unitName(ns, "socket")}…`;
        if (!(await wake(ns)))
            showAlert(alert, `${unitName(ns, "service")} is idle (it exits when it has no rules) and only ` +
                      `members of group "mcr" may start it through its socket.`, "bad");
        return;
    }
    showAlert(alert, `Cannot read the relay ${busName(ns)}: ${describe(error)}`, "bad");
}

async function refresh() {
    if (state.busy)
        return;
    state.busy = true;
    const ns = state.ns;
    let relay = null;
    try {
        if (state.tick++ % PICKER_EVERY === 0)
            await refreshPicker();
        const running = await daemonRunning(ns);
        if (ns !== state.ns)
            return;   // the instance changed while we waited
        $("not-running").hidden = running;
        if (!running) {
            disconnect();
            $("relay").hidden = true;
            $("instance-status").textContent = `${busName(ns)} · not running`;
            return;
        }
        relay = relayClient();
        const snapshot = await relay.snapshot();
        const unitStates = await workerUnitStates(snapshot.workers);
        if (relay !== state.relay)
            return;   // the instance changed while we waited
        render(snapshot, unitStates);
        $("relay").hidden = false;
        if ($("alert").dataset.source === "refresh")
            showAlert($("alert"), "");
    } catch (error) {
        if (relay && relay === state.relay)
            await readFailed(ns, error);
    } finally {
        state.busy = false;
    }
}

async function addRule(event) {
    event.preventDefault();
    form.clearErrors();
    showAlert($("form-alert"), "");
    let rule;
    try {
        rule = form.read();
    } catch (fieldError) {
        form.showFieldError(fieldError);
        return;
    }
    const button = $("add-rule");
    button.disabled = true;
    try {
        await relayClient().addRule(rule);
        form.reset();
        showAlert($("form-alert"), `Rule "${rule.name}" added.`, "ok");
        await refresh();
    } catch (error) {
        if (isDenied(error))
            showAlert($("form-alert"), deniedText("manage relay rules", state.user, error), "bad denied");
        else if (!(isValidation(error) && form.showFieldError(error.message)))
            showAlert($("form-alert"), describe(error), "bad");
    } finally {
        button.disabled = false;
    }
}

async function removeRule(name, button) {
    button.disabled = true;
    try {
        await relayClient().removeRule(name);
        showAlert($("alert"), "");
        await refresh();
    } catch (error) {
        button.disabled = false;
        const text = isDenied(error) ? deniedText("remove relay rules", state.user, error) : describe(error);
        showAlert($("alert"), text, isDenied(error) ? "bad denied" : "bad");
        $("alert").dataset.source = "remove";
    }
}

async function startSocket() {
    const unit = unitName(state.ns, "socket");
    $("start-error").hidden = true;
    try {
        await startUnit(unit);
        await refresh();
    } catch (error) {
        $("start-error").textContent = isDenied(error)
            ? `Not authorized to start ${unit}: ask an administrator, or switch to administrative access.`
            : `Starting ${unit} failed: ${describe(error)}`;
        $("start-error").hidden = false;
    }
}

function followLocation() {
    const ns = currentNamespace();
    if (ns !== state.ns) {
        connect(ns);
        refresh();
    }
}

$("add-form").addEventListener("submit", addRule);
$("start-socket").addEventListener("click", startSocket);
$("namespace").addEventListener("change", event => cockpit.location.go("/", event.target.value ? { ns: event.target.value } : {}));
cockpit.addEventListener("locationchanged", followLocation);
cockpit.user().then(user => { state.user = user.name || "" }, () => {});
followLocation();
window.setInterval(refresh, REFRESH_MS);
cockpit.transport.wait(() => document.body.setAttribute("data-ready", "yes"));

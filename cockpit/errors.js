// What a failed D-Bus call means for the operator: a polkit denial, a
// validation error of one form field ("input.address: must be ..."), or
// anything else. Messages of the daemon are shown unchanged.

const DENIED = new Set([
    "org.freedesktop.DBus.Error.AccessDenied",
    "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
    "org.freedesktop.PolicyKit1.Error.NotAuthorized",
]);

// cockpit reports a denial either as the D-Bus error name or, for its own
// channel checks, as problem "access-denied" / "not-authorized".
export function isDenied(error) {
    return Boolean(error) &&
        (DENIED.has(error.name) || error.problem === "access-denied" || error.problem === "not-authorized");
}

export function isValidation(error) {
    return Boolean(error) && error.name === "org.mcr.Relay.Error.InvalidRule";
}

// "outputs[0].port: must be 1..65535, got 0" -> {path: "outputs[0].port", reason: "must be ..."}.
// Field paths are the rule JSON schema's (mcrd.json(5)); a message without
// one belongs to the whole form.
export function splitFieldMessage(message) {
    const match = /^((?:name|input|outputs)(?:\[\d+\])?(?:\.[a-z_]+)?): (.*)$/s.exec(message || "");
    return match ? { path: match[1], reason: match[2] } : { path: "", reason: message || "" };
}

// error: the failed call, whose message (the daemon's or polkit's) is quoted.
export function deniedText(action, user, error) {
    const who = user ? `User "${user}"` : "Your account";
    const why = error && error.message ? ` (${error.message})` : "";
    return `Not authorized: ${who} may not ${action}; polkit denied it${why}. An administrator can grant the ` +
        `org.mcr.relay.* actions (for example with /usr/share/doc/mcrd/examples/mcrd-operators.rules.example: ` +
        `members of group "mcr"), or switch to administrative access.`;
}

export function describe(error) {
    if (!error)
        return "Unknown error";
    const text = error.message || error.problem || String(error);
    return error.name && !text.includes(error.name) ? `${text} (${error.name})` : text;
}

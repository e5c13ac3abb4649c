// polkit CheckAuthorization over D-Bus: subject construction, the async
// call, and the re-dispatch of the waiting method call (the same flow as
// systemd's bus-polkit.c: the request message is kept, and once polkit
// answers it is queued again with sd_bus_enqueue_for_read()).
#include "polkit.hpp"

#include "core/c_callback.hpp"
#include "core/log.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mcr::bus {

namespace {

constexpr const char* kPolkitService = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitInterface = "org.freedesktop.PolicyKit1.Authority";
constexpr std::uint32_t kAllowUserInteractionFlag = 1;
// A user may take a while to type a password into an agent's dialog.
constexpr std::uint64_t kInteractiveTimeoutUsec = 5ULL * 60 * 1000 * 1000;

// Appends the `(sa{sv})` subject of a CheckAuthorization call.
int append_bus_name_subject(sd_bus_message* call, const char* sender)
{
    return sd_bus_message_append(call, "(sa{sv})", "system-bus-name", 1, "name", "s", sender);
}

int append_process_subject(sd_bus_message* call, pid_t pid, std::uint64_t start_time, uid_t uid)
{
    return sd_bus_message_append(call, "(sa{sv})", "unix-process", 3,
                                 "pid", "u", static_cast<std::uint32_t>(pid),
                                 "start-time", "t", start_time,
                                 "uid", "i", static_cast<std::int32_t>(uid));
}

using SubjectAppender = std::function<int(sd_bus_message*)>;

// Builds and sends one CheckAuthorization call; the reply goes to `callback`.
int send_check_authorization(sd_bus* bus, const SubjectAppender& append_subject, const char* action,
                             bool interactive, sd_bus_message_handler_t callback, void* userdata,
                             BusSlotPtr& slot)
{
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus, &raw, kPolkitService, kPolkitPath, kPolkitInterface,
                                           "CheckAuthorization");
    if (r < 0)
        return r;
    BusMessagePtr call(raw);
    r = append_subject(call.get());
    if (r < 0)
        return r;
    r = sd_bus_message_append(call.get(), "sa{ss}us", action, 0,
                              interactive ? kAllowUserInteractionFlag : 0U, "");
    if (r < 0)
        return r;
    sd_bus_slot* raw_slot = nullptr;
    r = sd_bus_call_async(bus, &raw_slot, call.get(), callback, userdata,
                          interactive ? kInteractiveTimeoutUsec : 0);
    if (r < 0)
        return r;
    slot.reset(raw_slot);
    return 0;
}

// Turns polkit's reply (or the failure to get one) into a decision.
AuthDecision decision_from_reply(sd_bus_message* reply, const char* action)
{
    AuthDecision decision;
    if (const sd_bus_error* e = sd_bus_message_get_error(reply)) {
        const bool absent = sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                                   SD_BUS_ERROR_NO_REPLY) > 0;
        decision.outcome = absent ? AuthDecision::Outcome::unavailable : AuthDecision::Outcome::denied;
        decision.message = std::string(absent ? "polkit is not available to authorize '" :
                                                "polkit failed to authorize '") +
                           action + "': " + bus_error_text(e);
        return decision;
    }
    int authorized = 0;
    int challenge = 0;
    int r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
    if (r >= 0)
        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
    if (r < 0) {
        decision.message = std::string("polkit sent an unreadable reply for '") + action + "': " + std::strerror(-r);
        return decision;
    }
    if (authorized) {
        decision.outcome = AuthDecision::Outcome::allowed;
    } else if (challenge) {
        decision.outcome = AuthDecision::Outcome::challenge;
        decision.message = std::string("Interactive authentication is required for '") + action + "'";
    } else {
        decision.message = std::string("Not authorized for '") + action + "'";
    }
    return decision;
}

bool sender_is_root(sd_bus_message* message)
{
    sd_bus_creds* raw = nullptr;
    if (sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &raw) < 0)
        return false;
    BusCredsPtr creds(raw);
    return creds_prove_root(creds.get());
}

} // namespace

bool creds_prove_root(sd_bus_creds* creds)
{
    if (creds == nullptr)
        return false;
    // An EUID sd-bus read from /proc/PID/status ("augmented") belongs to
    // whatever process holds that pid now, which need not be the sender:
    // only the bus driver's or the socket's word counts, as in systemd's
    // sd_bus_query_sender_privilege() behind bus_verify_polkit_async().
    if ((sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID) != 0)
        return false;
    uid_t euid = 0;
    return sd_bus_creds_get_euid(creds, &euid) >= 0 && euid == 0;
}

struct PolkitAuthorizer::BusQuery {
    PolkitAuthorizer* owner = nullptr;
    BusMessagePtr request;
    std::string action;
    BusSlotPtr slot;
    bool answered = false;
    AuthDecision decision;
};

struct PolkitAuthorizer::ProcessQuery {
    PolkitAuthorizer* owner = nullptr;
    std::uint64_t id = 0;
    std::string action;
    BusSlotPtr slot;
    DecisionCallback done;
};

PolkitAuthorizer::PolkitAuthorizer() = default;
PolkitAuthorizer::~PolkitAuthorizer() = default;

std::uint64_t process_start_time(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
        return 0;
    // The command name (field 2) may contain spaces and parentheses: count
    // fields from the last ')'.
    const std::size_t end_of_name = line.rfind(')');
    if (end_of_name == std::string::npos)
        return 0;
    std::istringstream fields(line.substr(end_of_name + 1));
    std::string field;
    for (int index = 3; index <= 22 && (fields >> field); ++index)
        if (index == 22)
            return std::strtoull(field.c_str(), nullptr, 10);
    return 0;
}

int set_auth_error(const AuthDecision& decision, sd_bus_error* error)
{
    const char* name = decision.outcome == AuthDecision::Outcome::challenge ?
                           SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED :
                           SD_BUS_ERROR_ACCESS_DENIED;
    return sd_bus_error_set(error, name, decision.message.c_str());
}

int PolkitAuthorizer::verify_bus_call(sd_bus_message* message, const char* action, sd_bus_error* error)
{
    if (auto it = bus_queries_.find(message); it != bus_queries_.end()) {
        if (!it->second->answered)
            return -EBUSY;  // dispatched again before polkit answered: cannot happen with sd-bus
        // A query for a different action on the same message would be a
        // handler bug; never let one answer stand in for another.
        const bool same_action = it->second->action == action;
        const AuthDecision decision = std::move(it->second->decision);
        bus_queries_.erase(it);
        if (same_action && decision.allowed())
            return 1;
        if (!same_action)
            return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "polkit query answered for another action");
        // The caller's audit entry records the refusal; this is for debugging only.
        log_debug("Authorization refused: " + decision.message, {{"MCR_POLKIT_ACTION", action}});
        return set_auth_error(decision, error);
    }

    if (sender_is_root(message))
        return 1;

    const char* sender = sd_bus_message_get_sender(message);
    if (!sender)
        return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "The caller has no bus name to authorize");

    auto query = std::make_unique<BusQuery>();
    query->owner = this;
    query->request.reset(sd_bus_message_ref(message));
    query->action = action;
    const bool interactive = sd_bus_message_get_allow_interactive_authorization(message) > 0;
    const int r = send_check_authorization(
        sd_bus_message_get_bus(message),
        [sender](sd_bus_message* call) { return append_bus_name_subject(call, sender); }, action, interactive,
        &PolkitAuthorizer::on_bus_query_reply, query.get(), query->slot);
    if (r < 0)
        return sd_bus_error_set_errnof(error, r, "Failed to ask polkit for '%s': %s", action, std::strerror(-r));
    bus_queries_.emplace(message, std::move(query));
    return 0;
}

void PolkitAuthorizer::forget_answered(sd_bus_message* message)
{
    if (auto it = bus_queries_.find(message); it != bus_queries_.end() && it->second->answered)
        bus_queries_.erase(it);
}

int PolkitAuthorizer::on_bus_query_reply(sd_bus_message* reply, void* userdata, sd_bus_error* /*ret_error*/) noexcept
{
    auto* query = static_cast<BusQuery*>(userdata);
    return guard_callback("Handling a polkit reply", [&]() -> int {
        query->decision = decision_from_reply(reply, query->action.c_str());
        query->answered = true;
        query->slot.reset();  // sd-bus holds its own reference while this callback runs
        sd_bus_message* request = query->request.get();
        const int r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(request), request);
        if (r < 0) {
            log_error(std::string("Failed to re-dispatch an authorized call: ") + std::strerror(-r));
            (void)sd_bus_reply_method_errnof(request, r, "Failed to re-dispatch the call after polkit answered");
            query->owner->bus_queries_.erase(request);
        }
        return 0;
    });
}

int PolkitAuthorizer::check_unix_process(sd_bus* bus, pid_t pid, std::uint64_t start_time, uid_t uid,
                                         const char* action, bool interactive, DecisionCallback done)
{
    if (uid == 0) {
        done(AuthDecision{AuthDecision::Outcome::allowed, {}});
        return 0;
    }
    auto query = std::make_unique<ProcessQuery>();
    query->owner = this;
    query->id = next_process_query_id_++;
    query->action = action;
    query->done = std::move(done);
    const int r = send_check_authorization(
        bus, [=](sd_bus_message* call) { return append_process_subject(call, pid, start_time, uid); }, action,
        interactive, &PolkitAuthorizer::on_process_query_reply, query.get(), query->slot);
    if (r < 0)
        return r;
    process_queries_.emplace(query->id, std::move(query));
    return 0;
}

int PolkitAuthorizer::on_process_query_reply(sd_bus_message* reply, void* userdata, sd_bus_error* /*ret_error*/) noexcept
{
    auto* query = static_cast<ProcessQuery*>(userdata);
    return guard_callback("Handling a polkit reply", [&]() -> int {
        // Take the query out first: the callback may start new queries.
        auto node = query->owner->process_queries_.extract(query->id);
        const AuthDecision decision = decision_from_reply(reply, query->action.c_str());
        if (!decision.allowed())
            log_debug("Authorization refused: " + decision.message, {{"MCR_POLKIT_ACTION", query->action}});
        node.mapped()->done(decision);
        return 0;
    });
}

} // namespace mcr::bus

// Error values for validation and parsing: a field path plus a reason, and a
// small Result<T> (C++20 has no std::expected) that carries either.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace mcr {

// A validation or parse failure. `path` names the offending field the way a
// user wrote it ("rules[2].outputs[0].port"); `reason` says what is wrong and
// quotes the bad value. message() is what D-Bus errors, mcrctl and the
// journal all show, unchanged.
struct Error {
    std::string path;
    std::string reason;

    [[nodiscard]] std::string message() const
    {
        return path.empty() ? reason : path + ": " + reason;
    }
};

// E: the failure type; Error unless a caller must act on a typed reason
// (as fastpath::Failure carries one).
template <typename T, typename E = Error>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
    Result(E error) : v_(std::move(error)) {}          // NOLINT(google-explicit-constructor)

    [[nodiscard]] bool ok() const noexcept { return std::holds_alternative<T>(v_); }
    explicit operator bool() const noexcept { return ok(); }

    [[nodiscard]] T& value() & { return std::get<T>(v_); }
    [[nodiscard]] const T& value() const& { return std::get<T>(v_); }
    [[nodiscard]] T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    [[nodiscard]] const E& error() const { return std::get<E>(v_); }

private:
    std::variant<T, E> v_;
};

// For operations that yield nothing but may fail with a path + reason.
struct Ok {};
using Status = Result<Ok>;

} // namespace mcr

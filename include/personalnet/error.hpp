// Error and Result<T>: the error convention of libpersonalnet.
//
// Every fallible function returns a Result<T>. An Error carries the errno of the
// failing step, a context chain ("create space 'corp': add veth 'pn0011h'") and,
// for netlink, the kernel's extended-ack message. Callers add their own context
// with wrap(). No exceptions cross the library boundary.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace personalnet {

struct Error {
    int code = 0;         // errno value, or 0 when the failure is not a system error
    std::string context;  // outermost first: "create space 'a': add route 10.0.0.0/8"
    std::string extack;   // kernel extended-ack text, if any

    // Prepends outer context: wrap("create space 'a'") on "add veth" gives
    // "create space 'a': add veth".
    Error wrap(const std::string& outer) const {
        Error e = *this;
        if (outer.empty()) return e;
        e.context = context.empty() ? outer : outer + ": " + context;
        return e;
    }
    // "context: strerror(code) (extack)"
    std::string message() const;
};

// Builds an Error from the current errno.
Error errno_error(const std::string& context);
Error make_error(int code, const std::string& context);

// Minimal subset of std::expected (C++23) so that moving there later is an alias.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& value() const& { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    T& operator*() & { return std::get<0>(v_); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return err_; }

private:
    Error err_;
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace personalnet

namespace pn = personalnet;

// Propagate an error with added context: PN_TRY(expr, "step") returns early.
#define PN_TRY(expr, ctx)                                        \
    do {                                                         \
        auto pn_try_r_ = (expr);                                 \
        if (!pn_try_r_.ok()) return pn_try_r_.error().wrap(ctx); \
    } while (0)

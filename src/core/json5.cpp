// A single-pass JSON5 -> JSON converter. It rewrites token by token and
// leaves string contents alone (a "//" inside a string is not a comment);
// comments become spaces with their newlines kept, so that a later JSON
// parse error still points at the right line.
#include "json5.hpp"

#include "quote.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

namespace mcr {

namespace {

bool is_identifier_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

bool is_identifier_char(char c)
{
    return is_identifier_start(c) || (c >= '0' && c <= '9');
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

class Json5Converter {
public:
    explicit Json5Converter(std::string_view text) : in_(text) {}

    Result<std::string> run()
    {
        // A UTF-8 byte order mark is whitespace to JSON5 but an error to JSON.
        if (in_.substr(0, 3) == "\xEF\xBB\xBF")
            pos_ = 3;
        while (pos_ < in_.size() && !error_) {
            const char c = in_[pos_];
            if (is_space(c) || c == '/')
                copy_space_or_comment();
            else if (c == '"' || c == '\'')
                convert_string();
            else if (c == ',')
                convert_comma();
            else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':')
                out_ += in_[pos_++];
            else if (is_digit(c) || c == '+' || c == '-' || c == '.')
                convert_number();
            else if (is_identifier_start(c))
                convert_identifier();
            else
                fail(pos_, "unexpected character " + quoted_text(in_.substr(pos_, 1)));
        }
        if (error_)
            return *error_;
        return std::move(out_);
    }

private:
    void fail(std::size_t at, std::string reason)
    {
        if (!error_)
            error_ = error_at_offset(in_, at, std::move(reason));
    }

    // Whitespace is copied (\v and \f become spaces, which JSON lacks); a
    // comment becomes spaces, keeping its newlines.
    void copy_space_or_comment()
    {
        const char c = in_[pos_];
        if (is_space(c)) {
            out_ += (c == '\v' || c == '\f') ? ' ' : c;
            ++pos_;
            return;
        }
        const std::size_t end = comment_end(pos_);
        if (end == kNotAComment) {
            fail(pos_, in_.substr(pos_, 2) == "/*" ? "unterminated /* comment"
                                                   : "unexpected character \"/\"");
            return;
        }
        for (; pos_ < end; ++pos_)
            out_ += in_[pos_] == '\n' ? '\n' : ' ';
    }

    static constexpr std::size_t kNotAComment = std::numeric_limits<std::size_t>::max();

    // End (exclusive) of the comment starting at `at`, or kNotAComment.
    [[nodiscard]] std::size_t comment_end(std::size_t at) const
    {
        if (in_.substr(at, 2) == "//") {
            const std::size_t newline = in_.find('\n', at);
            return newline == std::string_view::npos ? in_.size() : newline;
        }
        if (in_.substr(at, 2) == "/*") {
            const std::size_t close = in_.find("*/", at + 2);
            return close == std::string_view::npos ? kNotAComment : close + 2;
        }
        return kNotAComment;
    }

    // The next byte that is neither whitespace nor inside a comment.
    [[nodiscard]] std::optional<char> next_significant(std::size_t at) const
    {
        while (at < in_.size()) {
            if (is_space(in_[at])) {
                ++at;
            } else if (in_[at] == '/' && comment_end(at) != kNotAComment) {
                at = comment_end(at);
            } else {
                return in_[at];
            }
        }
        return std::nullopt;
    }

    void convert_comma()
    {
        const char next = next_significant(pos_ + 1).value_or('\0');
        // A trailing comma before a closing bracket is JSON5's, not JSON's.
        const bool trailing = next == '}' || next == ']';
        out_ += trailing ? ' ' : ',';
        ++pos_;
    }

    void convert_identifier()
    {
        const std::size_t start = pos_;
        while (pos_ < in_.size() && is_identifier_char(in_[pos_]))
            ++pos_;
        const std::string_view word = in_.substr(start, pos_ - start);
        if (next_significant(pos_) == ':') {
            out_ += '"';
            out_ += word;
            out_ += '"';
        } else if (word == "true" || word == "false" || word == "null") {
            out_ += word;
        } else if (word == "Infinity" || word == "NaN") {
            fail(start, quoted_text(word) + " is not representable in JSON");
        } else {
            fail(start, "unexpected word " + quoted_text(word) + " (strings need quotes)");
        }
    }

    std::size_t skip_digits(std::size_t at) const
    {
        while (at < in_.size() && is_digit(in_[at]))
            ++at;
        return at;
    }

    void convert_number()
    {
        const std::size_t start = pos_;
        bool negative = false;
        if (in_[pos_] == '+' || in_[pos_] == '-')
            negative = in_[pos_++] == '-';
        if (pos_ < in_.size() && is_identifier_start(in_[pos_])) {
            std::size_t end = pos_;
            while (end < in_.size() && is_identifier_char(in_[end]))
                ++end;
            const std::string_view word = in_.substr(pos_, end - pos_);
            fail(start, (word == "Infinity" || word == "NaN")
                            ? quoted_text(in_.substr(start, end - start)) + " is not representable in JSON"
                            : "invalid number " + quoted_text(in_.substr(start, end - start)));
            return;
        }
        const bool hex = in_.substr(pos_, 2) == "0x" || in_.substr(pos_, 2) == "0X";
        std::string number = negative ? "-" : "";
        if (hex ? !convert_hex(start, number) : !convert_decimal(start, number))
            return;
        if (pos_ < in_.size() && (is_identifier_char(in_[pos_]) || in_[pos_] == '.')) {
            fail(start, "invalid number " + quoted_text(in_.substr(start, pos_ + 1 - start)));
            return;
        }
        out_ += number;
    }

    bool convert_hex(std::size_t start, std::string& number)
    {
        pos_ += 2;
        const std::size_t digits_start = pos_;
        std::uint64_t value = 0;
        for (; pos_ < in_.size() && hex_value(in_[pos_]) >= 0; ++pos_) {
            if (value > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
                fail(start, "hex number " + quoted_text(in_.substr(start, pos_ + 1 - start)) +
                                " is too large");
                return false;
            }
            value = (value << 4) | static_cast<std::uint64_t>(hex_value(in_[pos_]));
        }
        if (pos_ == digits_start) {
            fail(start, "hex number without digits");
            return false;
        }
        number += std::to_string(value);
        return true;
    }

    // 5, .5, 5., 5.e3, 1e-3: JSON needs a digit on both sides of the point.
    bool convert_decimal(std::size_t start, std::string& number)
    {
        const std::size_t int_end = skip_digits(pos_);
        const std::string_view int_part = in_.substr(pos_, int_end - pos_);
        if (int_part.size() > 1 && int_part[0] == '0') {
            fail(start, "leading zeros are not allowed in " + quoted_text(int_part));
            return false;
        }
        pos_ = int_end;
        std::string_view frac_part;
        const bool has_point = pos_ < in_.size() && in_[pos_] == '.';
        if (has_point) {
            const std::size_t frac_end = skip_digits(pos_ + 1);
            frac_part = in_.substr(pos_ + 1, frac_end - pos_ - 1);
            pos_ = frac_end;
        }
        if (int_part.empty() && frac_part.empty()) {
            fail(start, "invalid number " + quoted_text(in_.substr(start, pos_ + 1 - start)));
            return false;
        }
        number += int_part.empty() ? "0" : std::string(int_part);
        if (has_point)
            number += "." + (frac_part.empty() ? std::string("0") : std::string(frac_part));
        if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
            std::size_t at = pos_ + 1;
            if (at < in_.size() && (in_[at] == '+' || in_[at] == '-'))
                ++at;
            const std::size_t exp_end = skip_digits(at);
            if (exp_end == at) {
                fail(start, "exponent without digits in " +
                                quoted_text(in_.substr(start, exp_end + 1 - start)));
                return false;
            }
            number += in_.substr(pos_, exp_end - pos_);
            pos_ = exp_end;
        }
        return true;
    }

    // Appends the \uXXXX form of a control byte, which JSON needs escaped.
    void append_unicode_escape(unsigned value)
    {
        static constexpr char kHexDigits[] = "0123456789abcdef";
        out_ += "\\u00";
        out_ += kHexDigits[(value >> 4) & 0xf];
        out_ += kHexDigits[value & 0xf];
    }

    bool has_hex_digits(std::size_t at, std::size_t count) const
    {
        if (at + count > in_.size())
            return false;
        for (std::size_t i = 0; i < count; ++i)
            if (hex_value(in_[at + i]) < 0)
                return false;
        return true;
    }

    // After a backslash at pos_ - 1; returns false on error.
    bool convert_escape()
    {
        if (pos_ >= in_.size()) {
            fail(pos_ - 1, "unterminated string");
            return false;
        }
        const char e = in_[pos_++];
        switch (e) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            out_ += '\\';
            out_ += e;
            return true;
        case '\'':
            out_ += '\'';
            return true;
        case 'v':
            append_unicode_escape(0x0b);
            return true;
        case 'u':
        case 'x': {
            const std::size_t digits = e == 'u' ? 4 : 2;
            if (!has_hex_digits(pos_, digits)) {
                fail(pos_ - 2, std::string("\\") + e + " needs " + std::to_string(digits) +
                                   " hex digits");
                return false;
            }
            out_ += e == 'u' ? "\\u" : "\\u00";
            out_ += in_.substr(pos_, digits);
            pos_ += digits;
            return true;
        }
        case '\r':
            if (pos_ < in_.size() && in_[pos_] == '\n')
                ++pos_;
            return true; // line continuation
        case '\n':
            return true; // line continuation
        default:
            if (e == '0' && !(pos_ < in_.size() && is_digit(in_[pos_]))) {
                append_unicode_escape(0);
                return true;
            }
            if (is_digit(e)) {
                fail(pos_ - 2, "octal escapes are not allowed");
                return false;
            }
            out_ += e; // JSON5: any other escaped character is itself
            return true;
        }
    }

    void convert_string()
    {
        const std::size_t start = pos_;
        const char quote = in_[pos_++];
        out_ += '"';
        while (true) {
            if (pos_ >= in_.size() || in_[pos_] == '\n' || in_[pos_] == '\r') {
                fail(start, "unterminated string");
                return;
            }
            const char c = in_[pos_++];
            if (c == quote)
                break;
            if (c == '\\') {
                if (!convert_escape())
                    return;
            } else if (c == '"') {
                out_ += "\\\""; // only reachable inside a '...' string
            } else if (static_cast<unsigned char>(c) < 0x20) {
                append_unicode_escape(static_cast<unsigned char>(c));
            } else {
                out_ += c;
            }
        }
        out_ += '"';
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    std::string out_;
    std::optional<Error> error_;
};

} // namespace

Error error_at_offset(std::string_view text, std::size_t offset, std::string reason)
{
    offset = std::min(offset, text.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return Error{"line " + std::to_string(line) + ", column " +
                     std::to_string(offset - line_start + 1),
                 std::move(reason)};
}

Result<std::string> json5_to_json(std::string_view text)
{
    return Json5Converter(text).run();
}

} // namespace mcr

// Proves state-file persistence: atomic replacement with the right mode and
// no temp files left behind (also after failures), bounded reads that refuse
// non-regular files, and corrupt files moved aside with their bytes intact.
#include "core/atomic_file.hpp"
#include "core/rule_json.hpp"
#include "core_test_helpers.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

using namespace mcr;
namespace fs = std::filesystem;

namespace {

using mcr::testing::TempDir;

unsigned mode_of(const std::string& path)
{
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

} // namespace

TEST_CASE("write_file_atomic creates a file with the requested mode")
{
    // Content exact, mode exact (umask does not apply), nothing else in the dir.
    TempDir dir;
    const std::string path = dir.file("state.json");
    REQUIRE(write_file_atomic(path, "{\"rules\": []}\n", 0640) == 0);
    CHECK(*read_file_limited(path, 100) == "{\"rules\": []}\n");
    CHECK(mode_of(path) == 0640);
    CHECK(dir.entries() == std::vector<std::string>{"state.json"});
}

TEST_CASE("write_file_atomic replaces content and mode")
{
    // A longer then shorter write leaves exactly the last content.
    TempDir dir;
    const std::string path = dir.file("state.json");
    REQUIRE(write_file_atomic(path, std::string(5000, 'x')) == 0);
    CHECK(mode_of(path) == 0644);
    REQUIRE(write_file_atomic(path, "new", 0600) == 0);
    CHECK(*read_file_limited(path, 10000) == "new");
    CHECK(mode_of(path) == 0600);
    CHECK(dir.entries() == std::vector<std::string>{"state.json"});
}

TEST_CASE("without fsync the file is still replaced whole, and failures still clean up")
{
    // Durability::readers_only (the worker's stats file): the same rename,
    // the same content and mode, no temp file left, errors as before.
    TempDir dir;
    const std::string path = dir.file("stats.json");
    REQUIRE(write_file_atomic(path, std::string(5000, 'x'), 0644, Durability::readers_only) == 0);
    REQUIRE(write_file_atomic(path, "{}\n", 0640, Durability::readers_only) == 0);
    CHECK(*read_file_limited(path, 10000) == "{}\n");
    CHECK(mode_of(path) == 0640);
    CHECK(dir.entries() == std::vector<std::string>{"stats.json"});
    fs::create_directory(dir.file("target"));
    REQUIRE(write_file_atomic(dir.file("target/keep"), "x") == 0);
    CHECK(write_file_atomic(dir.file("target"), "content", 0644, Durability::readers_only) == -EISDIR);
    CHECK(dir.entries() == std::vector<std::string>{"stats.json", "target"});
}

TEST_CASE("a failing write returns -errno and leaves no temp file")
{
    // Missing dir, a file where the dir should be, a directory as the target.
    TempDir dir;
    CHECK(write_file_atomic(dir.file("missing/state.json"), "x") == -ENOENT);
    REQUIRE(write_file_atomic(dir.file("plain"), "x") == 0);
    CHECK(write_file_atomic(dir.file("plain") + "/state.json", "x") == -ENOTDIR);
    fs::create_directory(dir.file("target"));
    REQUIRE(write_file_atomic(dir.file("target/keep"), "x") == 0);
    // rename() of a file over a non-empty directory fails after the temp file
    // was written: the temp file must be gone afterwards.
    CHECK(write_file_atomic(dir.file("target"), "content") == -EISDIR);
    CHECK(dir.entries() == std::vector<std::string>{"plain", "target"});
    CHECK(*read_file_limited(dir.file("target/keep"), 10) == "x");
}

TEST_CASE("read_file_limited refuses missing, non-regular and oversized files")
{
    // Each refusal names the path; the exact limit is still accepted.
    TempDir dir;
    const std::string path = dir.file("f");
    mcr::test::check_error(read_file_limited(path, 10), path, "not found");
    mcr::test::check_error(read_file_limited(dir.file(""), 10), dir.file(""), "not a regular file");
    REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
    mcr::test::check_error(read_file_limited(dir.file("fifo"), 10), dir.file("fifo"), "not a regular file");
    REQUIRE(write_file_atomic(path, "0123456789") == 0);
    CHECK(*read_file_limited(path, 10) == "0123456789");
    mcr::test::check_error(read_file_limited(path, 9), path, "file is 10 bytes, at most 9 allowed");
    REQUIRE(write_file_atomic(path, "") == 0);
    CHECK(read_file_limited(path, 0)->empty());
}

TEST_CASE("a corrupt state file is detected and moved aside with its bytes")
{
    // parse_rule_set refuses it; move_aside keeps the bytes under a new name.
    TempDir dir;
    const std::string path = dir.file("rules.json");
    const std::string corrupt = "{\"rules\": [ {\"name\": \"a\", \"inp";
    REQUIRE(write_file_atomic(path, corrupt) == 0);
    auto text = read_file_limited(path, kMaxConfigBytes);
    REQUIRE(text.ok());
    auto parsed = parse_rule_set(*text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().message() ==
          "line 1, column 31: syntax error while parsing object key - invalid string: missing closing "
          "quote; last read: '\"inp'; expected string literal");
    auto moved = move_aside(path);
    REQUIRE(moved.ok());
    CHECK(moved->rfind(path + ".corrupt-", 0) == 0);
    CHECK_FALSE(fs::exists(path));
    CHECK(*read_file_limited(*moved, kMaxConfigBytes) == corrupt);
}

TEST_CASE("move_aside never overwrites an earlier corrupt copy")
{
    // Two corrupt files within one second get two names; a missing file errs.
    TempDir dir;
    const std::string path = dir.file("rules.json");
    REQUIRE(write_file_atomic(path, "first") == 0);
    auto first = move_aside(path);
    REQUIRE(write_file_atomic(path, "second") == 0);
    auto second = move_aside(path);
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    CHECK(*first != *second);
    CHECK(*read_file_limited(*first, 10) == "first");
    CHECK(*read_file_limited(*second, 10) == "second");
    mcr::test::check_error(move_aside(path), path, "not found");
}

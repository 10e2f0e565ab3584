#include "storage/audit_postings.hpp"

#include <doctest/doctest.h>

#include "storage/database_file.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::storage;
using testing::TempDir;

namespace {

Connection open_index(const std::filesystem::path& file) {
  auto opened = open_writer(file, 0);
  REQUIRE(opened.ok());
  return std::move(*opened);
}

struct Index {
  TempDir dir;
  Connection conn;
  Index() : conn(open_index(dir.path() / "p.db")) {
    REQUIRE(conn.exec(R"sql(
      CREATE TABLE audit_terms (id INTEGER PRIMARY KEY, param TEXT NOT NULL,
        code TEXT NOT NULL, system TEXT NOT NULL, UNIQUE (param, code, system));
      CREATE TABLE audit_postings (term INTEGER NOT NULL, last_record INTEGER NOT NULL,
        first_record INTEGER NOT NULL, records BLOB NOT NULL,
        PRIMARY KEY (term, last_record)) WITHOUT ROWID;
      INSERT INTO audit_terms VALUES (1, 'type', 'a', ''), (2, 'type', 'b', ''),
        (3, 'patient', 'x', '');
    )sql"));
  }
  // One write job: each record with its terms.
  void job(const std::vector<std::pair<std::int64_t, std::vector<std::int64_t>>>& records) {
    PostingBatch batch;
    for (const auto& [id, terms] : records) batch.add(id, terms);
    REQUIRE(batch.write(conn));
  }
  std::vector<std::int64_t> matches(const std::vector<TermAlternatives>& criteria,
                                    std::int64_t below = 1'000'000, std::size_t limit = 100) {
    std::vector<std::int64_t> out;
    REQUIRE(walk_matches(conn, criteria, below, [&](std::int64_t id) -> Result<bool> {
      out.push_back(id);
      return out.size() < limit;
    }));
    return out;
  }
};

using Ids = std::vector<std::int64_t>;

}  // namespace

TEST_CASE("blocks: ascending ids as varint deltas, damaged bytes refused") {
  const Ids ids{5, 6, 7, 300, 1'000'000, 1'000'000'000'000};
  const std::string bytes = encode_block(ids);
  CHECK(bytes.size() == 1 + 1 + 2 + 3 + 6);
  CHECK(decode_block(5, bytes).value() == ids);
  CHECK(decode_block(9, "").value() == Ids{9});
  CHECK_FALSE(decode_block(5, std::string("\x80", 1)).has_value());      // cut inside a varint
  CHECK_FALSE(decode_block(5, std::string("\x00", 1)).has_value());      // ids must grow
  CHECK_FALSE(decode_block(5, std::string(10, '\xff')).has_value());     // overflow
  CHECK_FALSE(decode_block(5, std::string("\x81\x00", 2)).has_value());  // overlong
}

TEST_CASE("walk: AND across criteria, OR within one, newest first, across many blocks") {
  Index ix;
  ix.job({{1, {1, 3}}, {2, {2}}, {3, {1}}});
  ix.job({{4, {2, 3}}, {5, {1, 3}}});
  ix.job({{6, {1}}, {7, {2}}, {8, {1, 3}}, {9, {3}}});
  CHECK(ix.matches({{1}}) == Ids{8, 6, 5, 3, 1});
  CHECK(ix.matches({{1, 2}}) == Ids{8, 7, 6, 5, 4, 3, 2, 1});
  CHECK(ix.matches({{1}, {3}}) == Ids{8, 5, 1});
  CHECK(ix.matches({{1, 2}, {3}}) == Ids{8, 5, 4, 1});
  CHECK(ix.matches({{2}, {3}}) == Ids{4});
  CHECK(ix.matches({{1}, {3}}, 8) == Ids{5, 1});  // below an id: the next page
  CHECK(ix.matches({{1}}, 1'000'000, 2) == Ids{8, 6});
  CHECK(ix.matches({{1}, {4}}).empty());  // a term with no blocks
}

TEST_CASE("drop_postings_before: whole blocks before the cut go, and unused terms") {
  Index ix;
  ix.job({{1, {1, 3}}, {2, {2}}});
  ix.job({{3, {1}}, {4, {1}}});
  REQUIRE(drop_postings_before(ix.conn, {1, 2, 3}, 4));
  // Term 1's second block spans the cut and stays (id 3 is left for readers to skip).
  CHECK(ix.matches({{1}}) == Ids{4, 3});
  CHECK(ix.matches({{2}}).empty());
  CHECK(*ix.conn.query_int64("SELECT count(*) FROM audit_terms") == 1);
}

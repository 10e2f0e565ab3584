#include "storage/version_writer.hpp"

#include <algorithm>
#include <limits>

#include "protocols/fhir/model/json.hpp"
#include "storage/clinical_queries.hpp"
#include "storage/geo.hpp"
#include "storage/index_search.hpp"
#include "storage/param_stats.hpp"

namespace cg::storage {

namespace {

constexpr std::string_view kIndexTables[] = {"idx_string", "idx_token",    "idx_date",
                                             "idx_number", "idx_quantity", "idx_reference",
                                             "idx_uri",    "idx_position"};

// Inserts the rows of one resource's IndexEntries, one prepared statement per table.
class IndexRowWriter {
 public:
  IndexRowWriter(Connection& conn, std::string_view type, std::string_view id)
      : conn_(conn), type_(type), id_(id) {}

  Status write(const IndexEntries& index) {
    for (const auto& e : index.strings) {
      if (auto s =
              insert("idx_string (type, id, grp, param, normalized, exact) VALUES (?,?,?,?,?,?)",
                     e.grp, e.param, e.normalized, e.exact);
          !s)
        return s;
    }
    for (const auto& e : index.tokens) {
      if (auto s =
              insert("idx_token (type, id, grp, param, system, code, text, type_system, type_code)"
                     " VALUES (?,?,?,?,?,?,?,?,?)",
                     e.grp, e.param, e.system, e.code, e.text, e.type_system, e.type_code);
          !s)
        return s;
    }
    for (const auto& e : index.dates) {
      if (auto s = insert("idx_date (type, id, grp, param, low, high) VALUES (?,?,?,?,?,?)", e.grp,
                          e.param, e.low_ms, e.high_ms);
          !s)
        return s;
    }
    for (const auto& e : index.numbers) {
      if (auto s = insert("idx_number (type, id, grp, param, low, high) VALUES (?,?,?,?,?,?)",
                          e.grp, e.param, e.low, e.high);
          !s)
        return s;
    }
    for (const auto& e : index.quantities) {
      if (auto s =
              insert("idx_quantity (type, id, grp, param, system, code, low, high, canonical_code,"
                     " canonical_low, canonical_high) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                     e.grp, e.param, e.system, e.code, e.low, e.high, e.canonical_code,
                     e.canonical_low, e.canonical_high);
          !s)
        return s;
    }
    for (const auto& e : index.references) {
      if (auto s =
              insert("idx_reference (type, id, grp, param, target_type, target_id, url, version,"
                     " identifier_system, identifier_value) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     e.grp, e.param, e.target_type, e.target_id, e.url, e.version,
                     e.identifier_system, e.identifier_value);
          !s)
        return s;
    }
    for (const auto& e : index.uris) {
      if (auto s = insert("idx_uri (type, id, grp, param, uri) VALUES (?,?,?,?,?)", e.grp, e.param,
                          e.uri);
          !s) {
        return s;
      }
    }
    for (const auto& e : index.positions) {
      const UnitSpherePoint p = unit_sphere_point(e.latitude, e.longitude);
      if (auto s = insert("idx_position (type, id, grp, param, latitude, longitude, x, y, z)"
                          " VALUES (?,?,?,?,?,?,?,?,?)",
                          e.grp, e.param, e.latitude, e.longitude, p.x, p.y, p.z);
          !s) {
        return s;
      }
    }
    return ok_status();
  }

 private:
  // Binds (type, id, values...) in order; statements are cached by the connection.
  template <class... Values>
  Status insert(std::string_view table_and_values, const Values&... values) {
    auto stmt = conn_.statement("INSERT INTO " + std::string(table_and_values));
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, type_);
    (*stmt)->bind(2, id_);
    int i = 3;
    ((bind_one(**stmt, i++, values)), ...);
    return (*stmt)->run();
  }

  template <class Statement>
  static void bind_one(Statement& stmt, int i, const std::string& v) {
    stmt.bind(i, std::string_view(v));
  }
  template <class Statement>
  static void bind_one(Statement& stmt, int i, std::int64_t v) {
    stmt.bind(i, v);
  }
  template <class Statement>
  static void bind_one(Statement& stmt, int i, double v) {
    stmt.bind(i, v);
  }
  template <class Statement>
  static void bind_one(Statement& stmt, int i, std::int32_t v) {
    stmt.bind(i, std::int64_t{v});
  }

  Connection& conn_;
  std::string_view type_;
  std::string_view id_;
};

}  // namespace

namespace {

// Writes the server-owned elements into the resource: id, meta.versionId, meta.lastUpdated.
// Other meta elements (profile, tag, security, source) are the client's and stay.
void stamp(boost::json::object& resource, const StoredVersion& v) {
  resource["id"] = v.id;
  boost::json::value& meta = resource["meta"];
  if (!meta.is_object()) meta = boost::json::object();
  meta.as_object()["versionId"] = std::to_string(v.version);
  meta.as_object()["lastUpdated"] = v.last_updated;
}

Status require_ids(const std::string& type, const std::string& id) {
  if (type.empty() || id.empty()) return Error::invalid("resource type and id are required");
  return ok_status();
}

}  // namespace

Result<std::optional<StoredVersion>> VersionWriter::head(const std::string& type,
                                                         const std::string& id) {
  return read_head(conn_, type, id);
}

Result<std::optional<StoredVersion>> VersionWriter::version(const std::string& type,
                                                            const std::string& id,
                                                            std::int64_t version) {
  return read_version(conn_, type, id, version);
}

Result<std::vector<std::string>> VersionWriter::find_ids(const IndexQuery& query) {
  if (query.types.size() != 1) return Error::invalid("a match in a write job needs one type");
  if (query.where.all_of.empty()) {
    return Error::invalid("a match in a write job needs criteria; none would match every " +
                          query.types.front());
  }
  IndexQuery matches = query;  // only the filter, the count and the budget apply
  matches.sort.clear();
  matches.total = false;
  matches.cursor.clear();
  matches.includes.clear();
  matches.budget.max_ms = std::min(query.budget.max_ms, kWriterQueryBudget.max_ms);
  matches.budget.max_steps = query.budget.max_steps == 0
                                 ? kWriterQueryBudget.max_steps
                                 : std::min(query.budget.max_steps, kWriterQueryBudget.max_steps);
  auto page = run_index_search(conn_, matches);
  if (!page) return page.take_error();
  std::vector<std::string> ids;
  for (auto& v : page->matches) ids.push_back(std::move(v.id));
  return ids;
}

Result<std::vector<std::pair<std::string, std::string>>> VersionWriter::referring_resources(
    const std::string& target_type, const std::string& target_id, std::size_t at_most) {
  // idx_reference_target (target_type, target_id, type, param) serves the lookup; the index
  // holds rows of current resources only (deleting or replacing a version drops its rows).
  auto stmt = conn_.statement(
      "SELECT DISTINCT type, id FROM idx_reference WHERE target_type = ? AND target_id = ?"
      " ORDER BY type, id LIMIT ?");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, std::string_view(target_type));
  (*stmt)->bind(2, std::string_view(target_id));
  (*stmt)->bind(3, static_cast<std::int64_t>(
                       std::min<std::size_t>(at_most, std::numeric_limits<std::int64_t>::max())));
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    auto row = (*stmt)->step();
    if (!row) return row.take_error();
    if (!*row) break;
    out.emplace_back((*stmt)->column_text(0), (*stmt)->column_text(1));
  }
  return out;
}

Result<StoredVersion> VersionWriter::put(const std::string& type, const std::string& id,
                                         boost::json::object resource, const IndexEntries& index) {
  if (auto valid = require_ids(type, id); !valid) return valid.take_error();
  auto head = read_head_info(conn_, type, id);
  if (!head) return head.take_error();
  StoredVersion v = next_version(type, id, *head ? (*head)->version + 1 : 1);
  stamp(resource, v);
  v.json = fhir::serialize_json(resource);
  // Re-creating a deleted resource is a create for sync and history consumers.
  const bool creates = !*head || (*head)->deleted;
  if (auto status = write_version(v, creates ? "create" : "update", index); !status) {
    return status.take_error();
  }
  return v;
}

Result<StoredVersion> VersionWriter::remove(const std::string& type, const std::string& id) {
  if (auto valid = require_ids(type, id); !valid) return valid.take_error();
  auto head = read_head_info(conn_, type, id);
  if (!head) return head.take_error();
  if (!*head) return Error::not_found(type + "/" + id + " does not exist");
  if ((*head)->deleted) {
    auto existing = read_head(conn_, type, id);
    if (!existing) return existing.take_error();
    if (!*existing) return Error::internal("head row without its version row");
    return std::move(**existing);
  }
  StoredVersion v = next_version(type, id, (*head)->version + 1);
  v.deleted = true;
  if (auto status = write_version(v, "delete", {}); !status) return status.take_error();
  return v;
}

Result<bool> VersionWriter::reindex(const std::string& type, const std::string& id,
                                    std::int64_t version, const IndexEntries& index) {
  if (!conn_.in_transaction()) return Error::unavailable("write transaction was rolled back");
  auto head = read_head_info(conn_, type, id);
  if (!head) return head.take_error();
  if (!*head || (*head)->deleted || (*head)->version != version) return false;
  StoredVersion v;
  v.type = type;
  v.id = id;
  if (auto s = replace_index(v, index); !s) return s.take_error();
  return true;
}

StoredVersion VersionWriter::next_version(const std::string& type, const std::string& id,
                                          std::int64_t version) {
  StoredVersion v;
  v.type = type;
  v.id = id;
  v.version = version;
  last_ms_ = std::max(last_ms_, clock_ms_());  // never earlier than the previous write
  v.last_updated_ms = last_ms_;
  v.last_updated = format_instant(v.last_updated_ms);
  return v;
}

Status VersionWriter::write_version(StoredVersion& v, std::string_view op,
                                    const IndexEntries& index) {
  // SQLite may have rolled the batch back on its own (disk full, I/O error); writing now
  // would autocommit outside the batch, so refuse.
  if (!conn_.in_transaction()) return Error::unavailable("write transaction was rolled back");
  if (auto s = insert_change(v, op); !s) return s;
  if (auto s = insert_version(v); !s) return s;
  if (auto s = upsert_head(v); !s) return s;
  return replace_index(v, index);
}

Status VersionWriter::insert_change(StoredVersion& v, std::string_view op) {
  auto stmt = conn_.statement(
      "INSERT INTO changes (type, id, version, op, origin_node, origin_seq, received_at)"
      " VALUES (?, ?, ?, ?, NULL, NULL, ?)");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, std::string_view(v.type));
  (*stmt)->bind(2, std::string_view(v.id));
  (*stmt)->bind(3, v.version);
  (*stmt)->bind(4, op);
  (*stmt)->bind(5, v.last_updated_ms);
  if (auto status = (*stmt)->run(); !status) return status;
  v.seq = conn_.last_insert_rowid();
  return ok_status();
}

Status VersionWriter::insert_version(const StoredVersion& v) {
  auto stmt = conn_.statement(
      "INSERT INTO resource_versions (seq, type, id, version, last_updated_ms, deleted, json)"
      " VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, v.seq);
  (*stmt)->bind(2, std::string_view(v.type));
  (*stmt)->bind(3, std::string_view(v.id));
  (*stmt)->bind(4, v.version);
  (*stmt)->bind(5, v.last_updated_ms);
  (*stmt)->bind(6, std::int64_t{v.deleted});
  (*stmt)->bind(7, std::string_view(v.json));
  return (*stmt)->run();
}

Status VersionWriter::upsert_head(const StoredVersion& v) {
  auto stmt = conn_.statement(
      "INSERT INTO resources (type, id, current_version, seq, last_updated_ms, deleted)"
      " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (type, id) DO UPDATE SET"
      " current_version = excluded.current_version, seq = excluded.seq,"
      " last_updated_ms = excluded.last_updated_ms, deleted = excluded.deleted");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, std::string_view(v.type));
  (*stmt)->bind(2, std::string_view(v.id));
  (*stmt)->bind(3, v.version);
  (*stmt)->bind(4, v.seq);
  (*stmt)->bind(5, v.last_updated_ms);
  (*stmt)->bind(6, std::int64_t{v.deleted});
  return (*stmt)->run();
}

Status VersionWriter::replace_index(const StoredVersion& v, const IndexEntries& index) {
  for (std::string_view table : kIndexTables) {
    auto drop = conn_.statement("DELETE FROM " + std::string(table) + " WHERE type = ? AND id = ?");
    if (!drop) return drop.take_error();
    (*drop)->bind(1, std::string_view(v.type));
    (*drop)->bind(2, std::string_view(v.id));
    if (auto status = (*drop)->run(); !status) return status;
  }
  IndexRowWriter rows(conn_, v.type, v.id);
  if (auto s = rows.write(index); !s) return s;
  return raise_param_stats(v.type, index);
}

// Raises idx_param_stats to cover the new rows. The WHERE makes the usual case (nothing
// wider, no more rows than before) a lookup that writes nothing.
Status VersionWriter::raise_param_stats(const std::string& type, const IndexEntries& index) {
  for (const auto& row : param_stats(index)) {
    auto stmt = conn_.statement(
        "INSERT INTO idx_param_stats (family, type, param, max_width, max_rows)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (family, type, param) DO UPDATE SET"
        " max_width = max(max_width, excluded.max_width),"
        " max_rows = max(max_rows, excluded.max_rows)"
        " WHERE excluded.max_width > max_width OR excluded.max_rows > max_rows");
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, row.family);
    (*stmt)->bind(2, std::string_view(type));
    (*stmt)->bind(3, std::string_view(row.param));
    (*stmt)->bind(4, row.stats.max_width);
    (*stmt)->bind(5, row.stats.max_rows);
    if (auto s = (*stmt)->run(); !s) return s;
  }
  return ok_status();
}

}  // namespace cg::storage

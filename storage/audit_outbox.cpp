#include "storage/audit_outbox.hpp"

namespace cg::storage {

Status stage_audit(Connection& conn, std::int64_t created_ms, std::string_view event_json) {
  auto insert = conn.statement("INSERT INTO audit_outbox (created_ms, event) VALUES (?1, ?2)");
  if (!insert) return insert.take_error();
  (*insert)->bind(1, created_ms);
  (*insert)->bind(2, event_json);
  return (*insert)->run();
}

Result<std::vector<StagedAudit>> staged_audits(Connection& conn, std::size_t limit) {
  auto select =
      conn.statement("SELECT id, created_ms, event FROM audit_outbox ORDER BY id LIMIT ?1");
  if (!select) return select.take_error();
  Statement& s = **select;
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<StagedAudit> out;
  for (;;) {
    auto row = s.step();
    if (!row) return row.take_error();
    if (!*row) return out;
    out.push_back({s.column_int64(0), s.column_int64(1), s.column_text(2)});
  }
}

Status unstage_audits(Connection& conn, std::int64_t last_id) {
  auto remove = conn.statement("DELETE FROM audit_outbox WHERE id <= ?1");
  if (!remove) return remove.take_error();
  (*remove)->bind(1, last_id);
  return (*remove)->run();
}

}  // namespace cg::storage

#include "gateway/audit_export.hpp"

#include <boost/json.hpp>

#include "protocols/fhir/model/base64.hpp"
#include "protocols/fhir/model/json.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

bool in_range(const storage::StoredAudit& stored, const ExportRange& range) {
  const std::int64_t received = stored.record.received_ms;
  return (!range.received_from_ms || received >= *range.received_from_ms) &&
         (!range.received_to_ms || received < *range.received_to_ms);
}

// Writes one record's line (or skips it) and counts it.
Status write_record(const storage::StoredAudit& stored, const ExportRange& range, std::ostream& out,
                    ExportCount& count) {
  if (!stored.record.problem.empty()) {
    if (!range.include_unreadable) {
      ++count.unreadable_skipped;
      return ok_status();
    }
    out << unreadable_record_line(stored) << '\n';
    ++count.unreadable_written;
  } else if (range.as_received) {
    out << received_record_line(stored) << '\n';
    ++count.events;
  } else {
    auto event = audit_event_with_id(stored);
    if (!event) return event.take_error();
    out << *event << '\n';
    ++count.events;
  }
  if (!count.first_id) count.first_id = stored.id;
  count.last_id = stored.id;
  return ok_status();
}

}  // namespace

Result<std::string> audit_event_with_id(const storage::StoredAudit& stored) {
  auto parsed = fhir::parse_json(stored.record.resource_json);
  if (!parsed || !parsed->is_object()) {
    return Error::invalid("the AuditEvent of audit record " + std::to_string(stored.id) +
                          " does not parse");
  }
  json::object& event = parsed->as_object();
  json::object meta;
  if (const auto* old = event.if_contains("meta"); old && old->is_object()) meta = old->as_object();
  meta["lastUpdated"] = storage::format_instant(stored.record.received_ms);
  json::object out;
  out["resourceType"] = "AuditEvent";
  out["id"] = std::to_string(stored.id);
  out["meta"] = std::move(meta);
  for (auto& member : event) {
    const std::string_view key = member.key();
    if (key != "resourceType" && key != "id" && key != "meta") out[key] = std::move(member.value());
  }
  return fhir::serialize_json(out);
}

namespace {

// The record as it arrived, under `member`: "unreadable" or "received".
std::string as_received_line(const storage::StoredAudit& stored, std::string_view member) {
  const storage::AuditRecord& r = stored.record;
  json::object fields;
  fields["id"] = std::to_string(stored.id);
  fields["received"] = storage::format_instant(r.received_ms);
  fields["transport"] = r.transport;
  fields["peer"] = r.peer;
  fields["format"] = r.format;
  if (!r.problem.empty()) fields["problem"] = r.problem;
  fields["payload"] = base64_encode(r.raw);
  json::object line;
  line[member] = std::move(fields);
  return json::serialize(line);
}

}  // namespace

std::string unreadable_record_line(const storage::StoredAudit& stored) {
  return as_received_line(stored, "unreadable");
}

std::string received_record_line(const storage::StoredAudit& stored) {
  return as_received_line(stored, "received");
}

Result<ExportCount> export_audit(storage::AuditStore& store, const ExportRange& range,
                                 std::ostream& out) {
  ExportCount count;
  std::int64_t after = range.after_id;
  while (after < range.through_id) {
    auto page = store.since(after, kExportPageSize);
    if (!page) return page.take_error();
    for (const storage::StoredAudit& stored : *page) {
      if (stored.id > range.through_id) break;
      if (!in_range(stored, range)) continue;
      if (Status written = write_record(stored, range, out, count); !written) {
        return written.take_error();
      }
    }
    if (!out) return Error::unavailable("cannot write the export (disk full?)");
    if (page->size() < kExportPageSize) break;
    after = page->back().id;
  }
  if (!out.flush()) return Error::unavailable("cannot write the export (disk full?)");
  return count;
}

}  // namespace cg::gateway

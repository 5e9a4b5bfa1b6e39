#include "tools/gridctl/deadletters.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "common/config/json_file.h"

namespace grid::gridctl {
namespace {

bool Printable(const std::string& bytes) {
  for (unsigned char c : bytes) {
    if (c < 0x20 || c == 0x7f) {
      return false;
    }
  }
  return true;
}

void Authorize(grpc::ClientContext& context, const CallOptions& options) {
  context.set_deadline(std::chrono::system_clock::now() + options.timeout);
  if (!options.token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options.token);
  }
}

}  // namespace

std::string FormatDeadLetter(const v1::DeadLetter& letter) {
  std::string fields;
  for (const v1::DeadLetterField& field : letter.fields()) {
    absl::StrAppend(&fields, fields.empty() ? "" : " ", field.name(), "=",
                    Printable(field.value()) ? field.value()
                                             : absl::StrCat("<", field.value().size(), " bytes>"));
  }
  return absl::StrCat(google::protobuf::util::TimeUtil::ToString(letter.dead_at()), " ",
                      letter.subdistrict_id(), " ", letter.id(), " ", letter.group(), " ",
                      letter.stream(), "/", letter.entry_id(), " ", letter.reason_class(),
                      " deliveries=", letter.deliveries(), " reason=\"", letter.reason(), "\"",
                      fields.empty() ? " (no fields)" : " " + fields);
}

int ListDeadLetters(v1::GatewayService::StubInterface& gateway,
                    const v1::ListDeadLettersRequest& request, bool json,
                    const CallOptions& options, std::ostream& out, std::ostream& err) {
  grpc::ClientContext context;
  Authorize(context, options);
  v1::ListDeadLettersResponse response;
  const grpc::Status status = gateway.ListDeadLetters(&context, request, &response);
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  if (json) {
    out << config::ToJson(response, true) << "\n";
    return 0;
  }
  for (const v1::DeadLetter& letter : response.dead_letters()) {
    out << FormatDeadLetter(letter) << "\n";
  }
  out << "total: " << response.total() << "\n";
  if (!response.next_page_token().empty()) {
    out << "next page token: " << response.next_page_token() << "\n";
  }
  return 0;
}

int ReplayDeadLetters(v1::GatewayService::StubInterface& gateway,
                      const v1::ReplayDeadLettersRequest& request, bool json,
                      const CallOptions& options, std::ostream& out, std::ostream& err) {
  grpc::ClientContext context;
  Authorize(context, options);
  v1::ReplayDeadLettersResponse response;
  const grpc::Status status = gateway.ReplayDeadLetters(&context, request, &response);
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  if (json) {
    out << config::ToJson(response, true) << "\n";
    return 0;
  }
  for (const auto& replayed : response.replayed()) {
    out << "replayed " << replayed.id() << " of " << replayed.subdistrict_id() << " onto "
        << replayed.stream() << " as " << replayed.new_entry_id() << "\n";
  }
  out << response.replayed_size() << " replayed\n";
  return 0;
}

}  // namespace grid::gridctl

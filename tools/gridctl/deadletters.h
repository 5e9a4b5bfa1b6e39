// gridctl deadletters list|replay: the entries the services could not handle (ADMIN only).
#pragma once

#include <ostream>
#include <string>

#include "grid/v1/gateway.grpc.pb.h"
#include "tools/gridctl/commands.h"

namespace grid::gridctl {

// One line: when, subdistrict, dead letter id, group, stream and entry id, class, deliveries,
// reason, and the entry's fields (printable bytes as they are, others as a count).
std::string FormatDeadLetter(const v1::DeadLetter& letter);

// Lists one page: a line per dead letter, then "total: N" and "next page token: T" when there is
// a next page; or the response as JSON.
int ListDeadLetters(v1::GatewayService::StubInterface& gateway,
                    const v1::ListDeadLettersRequest& request, bool json,
                    const CallOptions& options, std::ostream& out, std::ostream& err);

// Replays: a line per dead letter put back, "replayed <id> of <subdistrict> onto <stream> as
// <new entry id>", then "<n> replayed"; or the response as JSON.
int ReplayDeadLetters(v1::GatewayService::StubInterface& gateway,
                      const v1::ReplayDeadLettersRequest& request, bool json,
                      const CallOptions& options, std::ostream& out, std::ostream& err);

}  // namespace grid::gridctl

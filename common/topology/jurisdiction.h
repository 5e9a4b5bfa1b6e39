// Jurisdiction: which events and changes lie in a unit's subtree. The one rule of DESIGN.md
// ("Jurisdiction"), used by every door that scopes by unit: the gateway's authorizer and its
// watch (live and catch-up alike), routing's ListEvents and escalation's ListOverdueEvents.
//
//   An event is in the subtree of a unit when its grid or the unit that has it now is.
//
// So a community operator keeps seeing an event of their grid after routing sent it up to the
// subdistrict or escalation on to a district department, and a department sees what sits at it.
// Units are ancestors of the event's grid or departments (routing, escalation and reassignment
// never send an event elsewhere), so for a root at or below SUBDISTRICT level the rule holds
// exactly when the grid is inside: every such event is filed in the root's subdistrict.
//
// Pure functions over a borrowed topology; safe from any thread.
#pragma once

#include <string_view>

#include "absl/container/inlined_vector.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"

namespace grid::topology {

// The rule, over ids: `unit_id` is the unit that has the event now, empty while nobody has it
// (a new report). Unknown ids are outside every subtree.
bool EventInSubtree(const Topology& topology, std::string_view grid_id, std::string_view unit_id,
                    std::string_view root_id);
bool EventInSubtree(const Topology& topology, const v1::Event& event, std::string_view root_id);

// A change is in the subtree when its event is, before the step or after it: the operator sees
// the change that brought an event in and the one that took it away (a reassignment to a
// department outside, say), not only those after which the event is theirs.
bool ChangeInSubtree(const Topology& topology, const v1::EventChange& change,
                     std::string_view root_id);

// A unit's queue (what a handler works on): the event is at the unit now. A change is in the
// queue when the event is at the unit before the step or after it: the changes that move events
// into or out of the queue, and those of events that stay there.
bool EventAtUnit(const v1::Event& event, std::string_view unit_id);
bool ChangeAtUnit(const v1::EventChange& change, std::string_view unit_id);

// Every unit whose subtree holds the change, each once: exactly the roots for which
// ChangeInSubtree is true (the grid, the units before and after, their ancestors, the district).
// For indexes keyed by root, such as the gateway's fan-out to watchers. The views point into
// the topology.
using Roots = absl::InlinedVector<std::string_view, 16>;
Roots RootsOfChange(const Topology& topology, const v1::EventChange& change);

}  // namespace grid::topology

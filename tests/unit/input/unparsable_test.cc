#include "common/input/unparsable.h"

#include <gtest/gtest.h>

#include "grid/v1/gateway.pb.h"
#include "grid/v1/intake.pb.h"
#include "grid/v1/routing.pb.h"

namespace grid::input {
namespace {

constexpr char kMarker[] = "@@MARK@@";
constexpr char kBad[] = "\xC3\x28\xFF\xFE\x80\x80\x80\x80";

// `message` serialized with the marker replaced by bytes that are not UTF-8, as a client that
// does not check could send it.
std::string WithBadUtf8(const google::protobuf::Message& message) {
  std::string bytes = message.SerializeAsString();
  for (std::size_t at = bytes.find(kMarker); at != std::string::npos; at = bytes.find(kMarker)) {
    bytes.replace(at, sizeof(kMarker) - 1, kBad, sizeof(kBad) - 1);
  }
  return bytes;
}

template <class Message>
std::string Why(const Message& message) {
  const std::string bytes = WithBadUtf8(message);
  Message parsed;
  EXPECT_FALSE(parsed.ParseFromString(bytes)) << "protobuf refuses invalid UTF-8 in a string";
  return WhyUnparsable(bytes, *Message::descriptor());
}

TEST(WhyUnparsableTest, NamesATopLevelString) {
  v1::GetEventRequest request;
  request.set_event_id(kMarker);
  EXPECT_EQ(Why(request), "event_id: is not valid UTF-8");
}

TEST(WhyUnparsableTest, NamesANestedStringByItsPath) {
  v1::ReportEventRequest request;
  request.mutable_report()->set_grid_id("37021200100101");
  request.mutable_report()->set_description(kMarker);
  EXPECT_EQ(Why(request), "report.description: is not valid UTF-8");

  request.mutable_report()->set_description("ok");
  request.mutable_actor()->set_subject(kMarker);
  EXPECT_EQ(Why(request), "actor.subject: is not valid UTF-8");
}

TEST(WhyUnparsableTest, NamesTheItemOfARepeatedField) {
  v1::ReportEventRequest request;
  request.mutable_report()->add_media("s3://b/1.jpg");
  request.mutable_report()->add_media("s3://b/2.jpg");
  request.mutable_report()->add_media(kMarker);
  EXPECT_EQ(Why(request), "report.media[2]: is not valid UTF-8");

  v1::WatchEventsRequest watch;
  watch.add_category_prefixes("01");
  watch.add_category_prefixes(kMarker);
  EXPECT_EQ(Why(watch), "category_prefixes[1]: is not valid UTF-8");
}

TEST(WhyUnparsableTest, BytesThatAreNotAMessageAreNamedAsSuch) {
  v1::ReportEventRequest request;
  request.mutable_report()->set_description("a description long enough to cut");
  const std::string bytes = request.SerializeAsString();
  EXPECT_EQ(WhyUnparsable(bytes.substr(0, 10), *v1::ReportEventRequest::descriptor()),
            "request: is not a valid grid.v1.ReportEventRequest");
  EXPECT_EQ(WhyUnparsable("\xFF\xFF\xFF", *v1::GetEventRequest::descriptor()),
            "request: is not a valid grid.v1.GetEventRequest");
}

TEST(WhyUnparsableTest, ANestedMessageThatIsNotOneIsNamed) {
  // Field 1 (report) as a length-delimited field holding a truncated varint.
  const std::string bytes("\x0A\x02\x08\xFF", 4);
  EXPECT_EQ(WhyUnparsable(bytes, *v1::ReportEventRequest::descriptor()),
            "report: is not a valid grid.v1.Report");
}

}  // namespace
}  // namespace grid::input

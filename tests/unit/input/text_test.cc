#include "common/input/text.h"

#include <gtest/gtest.h>

namespace grid::input {
namespace {

TEST(Utf8LengthTest, CountsCodePointsAndRejectsMalformedText) {
  EXPECT_EQ(Utf8Length(""), 0);
  EXPECT_EQ(Utf8Length("abc"), 3);
  EXPECT_EQ(Utf8Length("垃圾"), 2);
  EXPECT_EQ(Utf8Length("😀"), 1);
  EXPECT_EQ(Utf8Length("\xE5\x9E"), -1) << "truncated";
  EXPECT_EQ(Utf8Length("\xC0\xAF"), -1) << "overlong";
  EXPECT_EQ(Utf8Length("\xED\xA0\x80"), -1) << "surrogate";
  EXPECT_EQ(Utf8Length("\xF4\x90\x80\x80"), -1) << "past U+10FFFF";
  EXPECT_EQ(Utf8Length("\xFF"), -1);
  EXPECT_EQ(Utf8Length("a\x80"), -1) << "stray continuation byte";
}

TEST(QuoteTest, QuotesShortTextAsItIs) {
  EXPECT_EQ(Quote(""), "\"\"");
  EXPECT_EQ(Quote("370212001"), "\"370212001\"");
  EXPECT_EQ(Quote("暴露垃圾"), "\"暴露垃圾\"");
}

TEST(QuoteTest, EscapesControlCharactersQuotesAndBytesThatAreNotUtf8) {
  EXPECT_EQ(Quote("a\r\nb"), "\"a\\r\\nb\"");
  EXPECT_EQ(Quote("say \"hi\" \\ bye"), "\"say \\\"hi\\\" \\\\ bye\"");
  EXPECT_EQ(Quote(std::string("n\0l", 3)), "\"n\\x00l\"");
  EXPECT_EQ(Quote("\xFF\xC3("), "\"\\xFF\\xC3(\"");
}

TEST(QuoteTest, CutsLongTextOnACharacterBoundary) {
  EXPECT_EQ(Quote(std::string(10000, 'x')), "\"" + std::string(kMaxQuotedBytes, 'x') + "...\"");
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text += "垃";  // 3 bytes each: 21 fit in 64 bytes
  }
  std::string expected;
  for (int i = 0; i < 21; ++i) {
    expected += "垃";
  }
  EXPECT_EQ(Quote(text), "\"" + expected + "...\"");
  EXPECT_EQ(Quote(std::string(kMaxQuotedBytes, 'y')),
            "\"" + std::string(kMaxQuotedBytes, 'y') + "\"")
      << "exactly the bound is not cut";
}

}  // namespace
}  // namespace grid::input

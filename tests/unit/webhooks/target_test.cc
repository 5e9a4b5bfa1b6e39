#include "services/webhooks/target.h"

#include <gtest/gtest.h>

namespace grid::webhooks {
namespace {

bool NonPublic(const std::string& address) {
  return IsNonPublic(boost::asio::ip::make_address(address));
}

TEST(IsNonPublicTest, RefusesLoopbackPrivateLinkLocalAndUnspecifiedIpv4) {
  for (const char* address : {"127.0.0.1", "127.1.2.3", "10.0.0.1", "10.255.255.255", "172.16.0.1",
                              "172.31.255.254", "192.168.1.1", "169.254.169.254", "0.0.0.0",
                              "0.1.2.3", "100.64.0.1", "224.0.0.1", "255.255.255.255"}) {
    EXPECT_TRUE(NonPublic(address)) << address;
  }
}

TEST(IsNonPublicTest, LetsPublicIpv4Through) {
  for (const char* address : {"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "192.169.0.1",
                              "11.0.0.1", "169.253.0.1", "100.128.0.1"}) {
    EXPECT_FALSE(NonPublic(address)) << address;
  }
}

TEST(IsNonPublicTest, RefusesIpv6LoopbackUniqueLocalLinkLocalAndEmbeddedIpv4) {
  for (const char* address :
       {"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "ff02::1", "::ffff:127.0.0.1",
        "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::ffff:0.0.0.0", "::127.0.0.1",
        "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1"}) {
    EXPECT_TRUE(NonPublic(address)) << address;
  }
}

TEST(IsNonPublicTest, LetsPublicIpv6Through) {
  for (const char* address :
       {"2001:4860:4860::8888", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    EXPECT_FALSE(NonPublic(address)) << address;
  }
}

TEST(ParseUrlTest, TakesHttpAndHttpsWithPortsPathsAndIpv6) {
  auto url = ParseUrl("https://dept.example.org/grid/hook?x=1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "dept.example.org");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/grid/hook?x=1");
  url = ParseUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/");
  url = ParseUrl("HTTP://[::1]:9/h");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9);
}

TEST(ParseUrlTest, RefusesWhatIsNotAPlainHttpUrl) {
  for (const char* bad :
       {"ftp://x/", "//x/", "http://", "http://:80/", "http://x:0/", "http://x:70000/",
        "http://x:abc/", "http://user:pw@x/", "http://x/a b", "http://x/#f", "http://[::1/"}) {
    EXPECT_FALSE(ParseUrl(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace grid::webhooks

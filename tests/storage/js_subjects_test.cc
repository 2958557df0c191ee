// Cluster mode's names in JetStream: every node must derive the same ones.

#include "switchyard/storage/js_subjects.h"

#include <gtest/gtest.h>

#include <set>

#include "switchyard/core/crypto.h"

namespace switchyard::storage::jetstream {
namespace {

TEST(SubjectsTest, PlainNamesAreTheirOwnToken) {
  EXPECT_EQ(subject_token("orders"), "orders");
  EXPECT_EQ(subject_token("Partner_Orders-2"), "Partner_Orders-2");
  EXPECT_EQ(event_subject("default"), "sy.ev.default");
  EXPECT_EQ(work_subject("crm"), "sy.wk.crm");
  EXPECT_EQ(retry_subject("crm"), "sy.rt.crm");
  EXPECT_EQ(dead_letter_subject("crm"), "sy.dlq.crm");
}

TEST(SubjectsTest, OtherNamesAreMadeSafeAndStayDistinct) {
  const std::string dotted = subject_token("partner.orders");
  EXPECT_EQ(dotted, "partner_orders-" + core::sha256_hex("partner.orders").substr(0, 8));
  EXPECT_EQ(dotted.find('.'), std::string::npos);
  std::set<std::string> tokens;
  for (const char* name : {"a.b", "a_b", "a/b", "a b", "a*b", "a>b", "", "é"}) {
    const std::string tok = subject_token(name);
    EXPECT_TRUE(tokens.insert(tok).second) << name << " -> " << tok;
    EXPECT_FALSE(tok.empty()) << name;
    for (const char c : tok) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') << tok;
  }
  EXPECT_EQ(event_subject("team/orders"), "sy.ev." + subject_token("team/orders"));
}

TEST(SubjectsTest, ArchiveSubjectsAreByEventHourInUtc) {
  EXPECT_EQ(archive_subject("kept", 1733572800), "sy.ar.kept.2024120712");  // 2024-12-07T12:00:00Z
  EXPECT_EQ(archive_subject("kept", 1733576399), "sy.ar.kept.2024120712");  // 12:59:59
  EXPECT_EQ(archive_subject("kept", 1733576400), "sy.ar.kept.2024120713");
}

TEST(SubjectsTest, PartitionsAreStableAndSpread) {
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c.
  EXPECT_EQ(partition_of("a", 1000), 0xaf63dc4c8601ec8cull % 1000);
  EXPECT_EQ(partition_of("crm", 32), partition_of("crm", 32));
  EXPECT_EQ(partition_of("crm", 0), 0u);
  std::set<uint32_t> used;
  for (int i = 0; i < 200; ++i) used.insert(partition_of("destination-" + std::to_string(i), 32));
  EXPECT_GE(used.size(), 28u);  // 200 names over 32 partitions leave few empty
}

}  // namespace
}  // namespace switchyard::storage::jetstream

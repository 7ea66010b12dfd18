#include <catch2/catch.hpp>

#include "loyalty/core/pinyin.hpp"

using namespace loyalty;

namespace {

bool hasKey(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

TEST_CASE("pinyin: a name's whole pinyin and its initials", "[core]") {
  const auto spellings = pinyinSpellings("张三丰");
  REQUIRE(!spellings.empty());
  CHECK(spellings.front() == PinyinSpelling{"zhangsanfeng", "zsf"});
  CHECK(pinyinSpellings("王小明").front() == PinyinSpelling{"wangxiaoming", "wxm"});
}

TEST_CASE("pinyin: every reading of a polyphonic character, the usual one first", "[core]") {
  const auto readings = pinyinReadings(U'\u957F');  // 长
  REQUIRE(readings.size() >= 2);
  CHECK(readings[0] == "zhang");
  CHECK(std::find(readings.begin(), readings.end(), "chang") != readings.end());
  const auto keys = pinyinSearchKeys("长城");
  CHECK(hasKey(keys, "zhangcheng"));
  CHECK(hasKey(keys, "changcheng"));
  CHECK(hasKey(keys, "cc"));
  CHECK(hasKey(keys, "zc"));
}

TEST_CASE("pinyin: surnames are read as surnames when they come first", "[core]") {
  CHECK(pinyinSpellings("单田芳").front().full == "shantianfang");
  CHECK(pinyinSpellings("曾国藩").front().full == "zengguofan");
  CHECK(pinyinSpellings("解缙").front().full == "xiejin");
  CHECK(pinyinSpellings("仇英").front().full == "qiuying");
  CHECK(pinyinSpellings("区志坚").front() == PinyinSpelling{"ouzhijian", "ozj"});
  // Elsewhere in a name the character keeps its usual reading first.
  CHECK(pinyinSpellings("简单").front().full == "jiandan");
  CHECK(pinyinSpellings("未曾").front().full == "weiceng");
}

TEST_CASE("pinyin: u-umlaut is typed v, letters and digits are kept, other characters skipped", "[core]") {
  CHECK(pinyinSpellings("吕").front().full == "lv");
  CHECK(pinyinSpellings("可乐 330ml").front() == PinyinSpelling{"kele330ml", "kl330ml"});
  CHECK(pinyinSpellings("John Smith").empty());
  CHECK(pinyinSearchKeys("").empty());
}

TEST_CASE("pinyin: a long run of polyphonic characters gives a bounded number of spellings", "[core]") {
  const auto spellings = pinyinSpellings("行长重调乐行长重调乐", 8);
  CHECK(spellings.size() == 8);
  CHECK(spellings.front().full == "xingzhangzhongdiaolexingzhangzhongdiaole");
}

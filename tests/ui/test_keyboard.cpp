// The on-screen keyboard: the pinyin engine over Debian's dictionary, what each key does to a
// field, and the keyboard on the counter window (headless ImGui: key sizes at 1024x768, taps
// that type a name and search by its pinyin, a hardware keyboard putting it away).
#include <catch2/catch.hpp>

#include <imgui.h>

#include <algorithm>

#include "imgui_context.hpp"
#include "loyalty/ui/fonts.hpp"
#include "loyalty/ui/keyboard.hpp"
#include "loyalty/ui/pinyin_engine.hpp"
#include "loyalty/ui/screens.hpp"

using namespace loyalty;
using namespace loyalty::ui;

namespace {

PinyinEngine& engine() {
  static auto opened = PinyinEngine::open(defaultPinyinDictPath());  // one per process (the library's rule)
  INFO((opened ? "" : opened.error().message));
  REQUIRE(opened);
  return **opened;
}

std::size_t indexOf(const std::vector<std::string>& words, const std::string& word) {
  const auto at = std::find(words.begin(), words.end(), word);
  REQUIRE(at != words.end());
  return static_cast<std::size_t>(at - words.begin());
}

void typeAll(KeyboardUiState& s, std::string& text, const std::string& keys, std::size_t maxLen = 64) {
  for (const char c : keys) keyboardType(s, text, maxLen, std::string(1, c), &engine());
}

/// The counter window without a window: an ImGui context, the fonts built, frames run, taps by
/// the tap map's ids.
class Counter {
 public:
  Counter() {
    ImGuiIO& io = ImGui::GetIO();
    io.UserData = &m_taps;
    // The shell's touch style (its spacing decides what fits above the keyboard).
    ImGuiStyle& style = ImGui::GetStyle();
    style.FramePadding = ImVec2(12, 10);
    style.ItemSpacing = ImVec2(10, 10);
    style.WindowPadding = ImVec2(16, 12);
    m_glyphs.add(allCatalogueText());
    buildFonts(*io.Fonts, m_fonts, defaultFontPath(), 1.0f, m_glyphs);
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
    m_ui = Ui{Lang::kZh, m_fonts.body, m_fonts.large, m_fonts.huge, 1.0f};
    m_ui.pinyin = &engine();
    app.store = StoreInfo{"/data", "S001", "T1", "zh-CN", "CNY", "2026-01", 2000, 100, "csat5", {}};
    app.login.storeReady = true;
    app.staff = terminal::StaffMember{"7", "李娜", "cashier"};
    app.screen = Screen::kLookup;
  }

  void frame(const TypedKeys& keys = {}) {
    m_taps.rects.clear();
    ImGui::NewFrame();
    ImGui::PushFont(m_fonts.body);
    counterFrame(app, m_ui, keys);
    ImGui::PopFont();
    ImGui::Render();
  }
  bool visible(const std::string& id) {
    frame();
    return m_taps.rects.count(id) > 0;
  }
  void tap(const std::string& id) {
    frame();
    INFO("tap target " << id);
    REQUIRE(m_taps.rects.count(id));
    const auto r = m_taps.rects.at(id);
    ImGuiIO& io = ImGui::GetIO();
    io.MousePos = ImVec2(static_cast<float>(r.x + r.w / 2), static_cast<float>(r.y + r.h / 2));
    io.MouseDown[0] = true;
    frame();
    io.MouseDown[0] = false;
    frame();
  }
  const TapMap& taps() const { return m_taps; }

  AppModel app;

 private:
  test::ImGuiContextForTest m_ctx{ImVec2(1024, 768)};
  TapMap m_taps;
  GlyphSet m_glyphs;
  FontSet m_fonts;
  Ui m_ui;
};

}  // namespace

TEST_CASE("The pinyin engine offers hanzi for full pinyin and for initials", "[ui]") {
  PinyinEngine& e = engine();
  const auto zhang = e.candidates("zhang");
  CHECK(zhang.size() > 10);
  CHECK(std::find(zhang.begin(), zhang.end(), "张") != zhang.end());
  CHECK(e.candidates("ZhangSanFeng").front() == "张三丰");  // case does not matter
  CHECK(e.syllables("zhangsanfeng") == "zhang'san'feng");
  // A word for the start of the pinyin stands for its letters only.
  const auto all = e.candidates("zhangsanfeng");
  CHECK(e.lettersOf("zhangsanfeng", indexOf(all, "张")) == 5);
  CHECK(e.lettersOf("zhangsanfeng", 0) == 12);
  CHECK_FALSE(e.candidates("zsf").empty());
  CHECK(e.candidates("").empty());

  const auto missing = PinyinEngine::open("/nonexistent/dict_pinyin.dat");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().field == "pinyin_dictionary");
}

TEST_CASE("Keyboard keys: pinyin into the field, candidates replace it, Backspace edits the pinyin first", "[ui]") {
  KeyboardUiState s;
  std::string text = "A";
  keyboardFollow(s, text, "field");

  typeAll(s, text, "zhang");
  CHECK(text == "Azhang");
  CHECK(s.composing == "zhang");
  REQUIRE(keyboardChoose(s, text, 64, engine(), indexOf(engine().candidates("zhang"), "张")));
  CHECK(text == "A张");
  CHECK(s.composing.empty());

  // A word for the start of the pinyin leaves the rest to choose.
  typeAll(s, text, "sanfeng");
  REQUIRE(keyboardChoose(s, text, 64, engine(), indexOf(engine().candidates("sanfeng"), "三")));
  CHECK(text == "A张三feng");
  CHECK(s.composing == "feng");

  // Backspace: the pinyin letter by letter, then whole characters.
  keyboardBackspace(s, text);
  CHECK(text == "A张三fen");
  CHECK(s.composing == "fen");
  for (int i = 0; i < 3; ++i) keyboardBackspace(s, text);
  CHECK(text == "A张三");
  CHECK(s.composing.empty());
  keyboardBackspace(s, text);
  CHECK(text == "A张");

  // Space takes the first candidate; punctuation ends the pinyin as typed.
  typeAll(s, text, "feng");
  keyboardType(s, text, 64, " ", &engine());
  CHECK(text == "A张" + engine().candidates("feng").front());
  typeAll(s, text, "ab");
  keyboardType(s, text, 64, ".", &engine());
  CHECK(text.ends_with("ab."));
  CHECK(s.composing.empty());

  // Latin: letters as they are, Shift for one capital.
  s.latin = true;
  text.clear();
  s.shift = true;
  keyboardType(s, text, 64, "l", nullptr);
  keyboardType(s, text, 64, "i", nullptr);
  CHECK(text == "Li");
  CHECK(s.composing.empty());
}

TEST_CASE("Keyboard keys stay within the field's length and follow edits made by other means", "[ui]") {
  KeyboardUiState s;
  std::string text = "12345678";
  keyboardFollow(s, text, "short");
  typeAll(s, text, "zhangsan", 10);
  CHECK(text == "12345678zh");  // two letters fitted
  CHECK(s.composing == "zh");
  // 张 (3 bytes) for "zh" (2) would not fit: nothing changes.
  CHECK_FALSE(keyboardChoose(s, text, 10, engine(), 0));
  CHECK(text == "12345678zh");

  // A hardware key edited the field: what it ends with is no longer the pinyin.
  text += "x";
  keyboardFollow(s, text, "short");
  CHECK(s.composing.empty());
  // Another field starts afresh.
  s.composing = "zh";
  s.hidden = true;
  keyboardFollow(s, text, "other");
  CHECK(s.composing.empty());
  CHECK_FALSE(s.hidden);
}

TEST_CASE("The on-screen keyboard on the counter: big keys, a name typed by touch and searched by pinyin", "[ui][screens]") {
  Counter c;
  CHECK_FALSE(c.visible("kbd-z"));  // the number field has the focus: the keypad is enough
  c.tap("lookup-name");
  REQUIRE(c.visible("kbd-z"));
  // Every key is at least kMinTouch (56 px) high and wide at 1024x768, and on screen.
  int keys = 0;
  for (const auto& [id, r] : c.taps().rects) {
    if (!id.starts_with("kbd-") || id.starts_with("kbd-pinyin")) continue;
    INFO(id);
    CHECK(r.h >= 56);
    CHECK(r.w >= 56);
    CHECK(r.y + r.h <= 768);
    ++keys;
  }
  CHECK(keys >= 40);

  // z-s-f by touch: the lookup searches by those initials as they are typed, and the keyboard
  // offers hanzi for them.
  for (const char* k : {"kbd-z", "kbd-s", "kbd-f"}) c.tap(k);
  c.frame();
  CHECK(c.app.lookupUi.name == "zsf");
  const auto searched = std::find_if(c.app.outbox.begin(), c.app.outbox.end(), [](const Command& cmd) {
    const auto* l = std::get_if<cmd::Lookup>(&cmd);
    return l && l->query == "zsf";
  });
  CHECK(searched != c.app.outbox.end());
  CHECK(c.visible("kbd-cand-0"));
  CHECK_FALSE(c.app.keyboard.shown.empty());  // their glyphs go to the font

  // A candidate tapped replaces the pinyin; the keyboard's OK is the screen's Enter (a search
  // that opens the one match).
  c.app.outbox.clear();
  c.tap("kbd-cand-0");
  CHECK(c.app.lookupUi.name == engine().candidates("zsf").front());
  c.tap("kbd-enter");
  CHECK(std::any_of(c.app.outbox.begin(), c.app.outbox.end(), [](const Command& cmd) {
    const auto* l = std::get_if<cmd::Lookup>(&cmd);
    return l && l->jumpIfOne;
  }));

  // A hardware keyboard puts it away; a tap on the field brings it back.
  c.frame({{TypedKey::Kind::kText, "a", 5000}});
  CHECK_FALSE(c.visible("kbd-z"));
  c.tap("lookup-name");
  CHECK(c.visible("kbd-z"));
  // The number field (or the keypad) takes the focus back, and the keyboard goes.
  c.tap("lookup-number");
  CHECK_FALSE(c.visible("kbd-z"));
}

TEST_CASE("The enrolment name and the complaint description have the on-screen keyboard", "[ui][screens]") {
  Counter c;
  c.app.screen = Screen::kEnroll;
  CHECK_FALSE(c.visible("kbd-z"));
  c.tap("enroll-name");
  REQUIRE(c.visible("kbd-z"));
  c.tap("kbd-lang");  // 英: Latin letters
  for (const char* k : {"kbd-shift", "kbd-l", "kbd-u", "kbd-c", "kbd-y"}) c.tap(k);
  CHECK(c.app.enrollUi.name == "Lucy");
  c.tap("kbd-enter");  // on to the birthday: the keyboard goes, the keypad types the date
  CHECK(c.app.enrollUi.focus == 1);
  CHECK_FALSE(c.visible("kbd-z"));

  // A complaint about a member: the checkbox too.
  c.app.screen = Screen::kComplaint;
  MemberView m;
  m.memberId = "m-1";
  m.name = "王小明";
  c.app.complaint.member = m;
  REQUIRE(c.visible("kbd-z"));
  for (const char* k : {"kbd-1", "kbd-space", "kbd-h"}) c.tap(k);
  CHECK(c.app.complaintUi.description == "1 h");
  // The form stays usable above the keyboard: its button is not under it.
  REQUIRE(c.visible("complaint-submit"));
  const auto submit = c.taps().rects.at("complaint-submit");
  CHECK(submit.y + submit.h <= c.taps().rects.at("kbd-1").y);
  const auto about = c.taps().rects.at("complaint-about-member");
  CHECK(about.y + about.h <= c.taps().rects.at("kbd-1").y);
}

// Headless screen tests: an ImGui context without a window (display size, delta time, a built
// font atlas), input fed through ImGuiIO, frames run, emitted commands and state asserted.
#include <catch2/catch.hpp>

#include <imgui.h>

#include "loyalty/core/points.hpp"
#include "loyalty/ui/fonts.hpp"
#include "loyalty/ui/screens.hpp"

using namespace loyalty;
using namespace loyalty::ui;

namespace {

class Headless {
 public:
  explicit Headless(float width = 1024, float height = 768) {
    m_ctx = ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;
    io.DisplaySize = ImVec2(width, height);
    io.DeltaTime = 1.0f / 60.0f;
    io.UserData = &m_taps;
    io.KeyMap[ImGuiKey_Backspace] = 8;
    io.KeyMap[ImGuiKey_Enter] = 13;
    m_glyphs.add(allCatalogueText());
    m_glyphs.add("王小明");
    buildFonts(*io.Fonts, m_fonts, defaultFontPath(), width / 1024.0f, m_glyphs);
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
    m_ui = Ui{Lang::kEn, m_fonts.body, m_fonts.large, m_fonts.huge, width / 1024.0f};
    app.store = StoreInfo{"/data", "S001", "T1", "zh-CN", "CNY", "2026-01", 2000, 100, "csat5", {}};
    app.login.storeReady = true;
    app.lang = Lang::kEn;
    app.idPrefix = "T-";
  }
  ~Headless() { ImGui::DestroyContext(m_ctx); }
  Headless(const Headless&) = delete;
  Headless& operator=(const Headless&) = delete;

  void frame(const TypedKeys& keys = {}) {
    m_taps.rects.clear();
    m_ui.lang = app.lang;
    ImGui::NewFrame();
    ImGui::PushFont(m_fonts.body);
    if (customerDisplay) {
      customerFrame(app, m_ui);
    } else {
      counterFrame(app, m_ui, keys);
    }
    ImGui::PopFont();
    ImGui::Render();
  }
  bool visible(const std::string& id) {
    frame();
    return m_taps.rects.count(id) > 0;
  }
  /// Touches the widget `id` where the last frame drew it: press, then release a frame later.
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
  /// Keys as the shell passes them: each `gapMs` after the one before (a scanner: a few ms; a
  /// person: a hundred or more).
  void type(const std::string& text, bool enter, std::uint32_t gapMs = 5) {
    ImGui::GetIO().AddInputCharactersUTF8(text.c_str());
    TypedKeys keys;
    for (const char c : text) keys.push_back({TypedKey::Kind::kText, std::string(1, c), m_ms += gapMs});
    if (enter) keys.push_back({TypedKey::Kind::kEnter, {}, m_ms += gapMs});
    frame(keys);
  }
  void key(TypedKey::Kind kind) {
    m_ms += 150;
    frame({{kind, {}, m_ms}});
  }
  /// Time passes without keys.
  void pause(std::uint32_t ms) { m_ms += ms; }
  /// The commands the screens sent to the store worker since the last call.
  std::vector<Command> sent() { return std::exchange(app.outbox, {}); }
  /// Those of them of kind C (the sale screen also asks for prices as the cart changes).
  template <class C>
  std::vector<C> sent() {
    std::vector<C> out;
    for (Command& c : sent()) {
      if (auto* x = std::get_if<C>(&c)) out.push_back(std::move(*x));
    }
    return out;
  }
  const TapMap::Rect& rect(const std::string& id) { return m_taps.rects.at(id); }

  AppModel app;
  bool customerDisplay = false;  ///< frames draw the customer display instead of the counter

 private:
  ImGuiContext* m_ctx;
  std::uint32_t m_ms = 1000;
  TapMap m_taps;
  GlyphSet m_glyphs;
  FontSet m_fonts;
  Ui m_ui;
};

MemberView member(const char* id = "m-1") {
  MemberView m;
  m.memberId = id;
  m.name = "王小明";
  m.phoneMasked = "138****8000";
  m.cardNo = "8014598789742392";
  m.tier = "member";
  m.points = 3596;
  m.enrolledAt = "2026-01-05T10:00:00Z";
  return m;
}

void signedIn(Headless& h) {
  h.app.staff = terminal::StaffMember{"7", "李娜", "cashier"};
  h.app.screen = Screen::kLookup;
}

void memberOpen(Headless& h) {
  signedIn(h);
  h.app.screen = Screen::kMember;
  apply(h.app, reply::Member{MemberDetail{member(), {{"birthday", "生日快乐！"}}}, {}});
}

}  // namespace

TEST_CASE("Login: staff number and PIN on the keypad send one sign-in", "[ui][screens]") {
  Headless h;
  h.tap("login-key-7");
  h.tap("login-key-ok");  // next: the PIN
  for (const char* k : {"login-key-1", "login-key-2", "login-key-3", "login-key-4"}) h.tap(k);
  CHECK(h.app.loginUi.pin == "1234");
  h.tap("login-key-ok");
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto& signIn = std::get<cmd::SignIn>(sent[0]);
  CHECK(signIn.staffId == "7");
  CHECK(signIn.pin == "1234");
  CHECK(h.app.login.busy);

  SECTION("a wrong PIN is shown under the PIN and the PIN is cleared") {
    apply(h.app, reply::SignedIn{Error{errc::kForbidden, "pin", "wrong PIN, 4 tries left"}});
    CHECK(h.app.screen == Screen::kLogin);
    CHECK(h.app.login.error.field == "pin");
    CHECK(h.app.loginUi.pin.empty());
  }
  SECTION("the right PIN opens the lookup") {
    apply(h.app, reply::SignedIn{terminal::StaffMember{"7", "李娜", "cashier"}});
    CHECK(h.app.screen == Screen::kLookup);
    CHECK(h.visible("lookup-key-ok"));
  }
}

TEST_CASE("Login: a keyboard types into the focused field and Enter moves on", "[ui][screens]") {
  Headless h;
  h.type("42", true);
  CHECK(h.app.loginUi.staffId == "42");
  CHECK(h.app.loginUi.focus == 1);
  h.type("9876", true);
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  CHECK(std::get<cmd::SignIn>(sent[0]).pin == "9876");
}

TEST_CASE("Lookup searches from four digits and drops answers to older queries", "[ui][screens]") {
  Headless h;
  signedIn(h);
  for (const char* k : {"lookup-key-8", "lookup-key-0", "lookup-key-0"}) h.tap(k);
  CHECK(h.sent().empty());  // three digits name nobody yet
  h.tap("lookup-key-0");
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto first = std::get<cmd::Lookup>(sent[0]);
  CHECK(first.query == "8000");
  CHECK(h.app.lookup.busy);
  h.tap("lookup-key-1");
  const auto second = std::get<cmd::Lookup>(h.sent().at(0));
  CHECK(second.seq > first.seq);

  apply(h.app, reply::Lookup{first.seq, false, std::vector<MemberView>{member("old")}});
  CHECK(h.app.lookup.results.empty());  // stale
  apply(h.app, reply::Lookup{second.seq, false, std::vector<MemberView>{member()}});
  REQUIRE(h.app.lookup.results.size() == 1);
  h.tap("result-0");
  CHECK(h.app.screen == Screen::kMember);
  CHECK(std::get<cmd::Member>(h.sent().at(0)).memberId == "m-1");
}

TEST_CASE("A scan anywhere jumps to the member it names", "[ui][screens]") {
  Headless h;
  memberOpen(h);
  h.type("8014598789742392", true);
  // On the member panel a code is a product's first (the store is asked); none: a member's.
  const auto asked = h.sent<cmd::ScanProduct>();
  REQUIRE(asked.size() == 1);
  apply(h.app, reply::ProductScanned{asked[0].code, std::nullopt});
  CHECK(h.app.screen == Screen::kLookup);
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto lookup = std::get<cmd::Lookup>(sent[0]);
  CHECK(lookup.query == "8014598789742392");
  CHECK(lookup.jumpIfOne);
  apply(h.app, reply::Lookup{lookup.seq, true, std::vector<MemberView>{member("m-2")}});
  CHECK(h.app.screen == Screen::kMember);
  CHECK(std::get<cmd::Member>(h.sent().at(0)).memberId == "m-2");
}

TEST_CASE("Member panel to sale to receipt, with the survey on the customer display", "[ui][screens]") {
  Headless h;
  memberOpen(h);
  CHECK(h.visible("member-sale"));
  h.tap("member-sale");
  CHECK(h.app.screen == Screen::kSale);
  for (const char* k : {"sale-key-1", "sale-key-2", "sale-key-8", "sale-key-dot", "sale-key-5"}) h.tap(k);
  CHECK(h.app.saleUi.amount == "128.5");
  h.tap("sale-key-ok");
  auto sent = h.sent<cmd::Sale>();
  REQUIRE(sent.size() == 1);
  const auto sale = sent[0].request;
  CHECK(sale.member == std::optional<std::string>("m-1"));
  REQUIRE(sale.lines.size() == 1);
  CHECK(sale.lines[0].unitPrice == "128.50");  // amounts as the counter shows them
  CHECK(sale.lines[0].sku == "MANUAL-1");      // an item not in the catalogue, not a made-up product
  CHECK(sale.saleId == "T-S1");

  terminal::SaleResult result;
  result.saleId = sale.saleId;
  result.subtotal = result.total = Money::fromMinor(12850);
  result.pointsEarned = 128;
  result.balance = 3724;
  apply(h.app, reply::Sold{sale, result});
  CHECK(h.app.screen == Screen::kReceipt);
  CHECK(h.visible("receipt-new-sale"));
  CHECK(h.app.customer.askSurvey);
  update(h.app, intent::Survey{5});
  auto surveys = h.sent<cmd::Survey>();
  REQUIRE(surveys.size() == 1);
  const auto survey = surveys[0].answer;
  CHECK(survey.score == 5);
  CHECK(survey.scale == "csat5");
  CHECK(survey.saleId == std::optional<std::string>(sale.saleId));
  CHECK(survey.memberId == std::optional<std::string>("m-1"));
  CHECK_FALSE(h.app.customer.askSurvey);
}

TEST_CASE("Redeeming above the threshold waits for a supervisor's PIN", "[ui][screens]") {
  Headless h;
  memberOpen(h);
  h.tap("member-redeem");
  REQUIRE(std::holds_alternative<cmd::Catalog>(h.sent().at(0)));
  apply(h.app, reply::Catalog{{{"MUG", "保温杯", 300}, {"OIL", "金龙鱼食用油 5L", 2500}, {"TV", "电视", 90000}}});
  h.tap("reward-OIL");
  CHECK(h.app.redeemUi.confirming);
  h.tap("redeem-confirm");  // disabled: no PIN yet
  CHECK(h.sent().empty());
  for (const char* k : {"redeem-pin-key-2", "redeem-pin-key-4", "redeem-pin-key-6", "redeem-pin-key-8"}) h.tap(k);
  h.tap("redeem-confirm");
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto r = std::get<cmd::Redeem>(sent[0]).request;
  CHECK(r.reward == std::optional<std::string>("OIL"));
  CHECK(r.supervisorPin == std::optional<std::string>("2468"));

  apply(h.app, reply::Redeemed{Error{errc::kForbidden, "supervisor_pin", "that is not a supervisor's PIN"}});
  CHECK(h.app.redeem.error.field == "supervisor_pin");
  CHECK(h.app.redeemUi.supervisorPin.empty());
  apply(h.app, reply::Redeemed{terminal::RedeemResult{"R", 2500, 1096}});
  CHECK(h.app.screen == Screen::kMember);
  CHECK_THAT(h.app.member.banner, Catch::Contains("2500"));
}

TEST_CASE("Enrolment: consent is off until ticked, and errors land on their field", "[ui][screens]") {
  Headless h;
  signedIn(h);
  h.tap("go-enroll");
  for (const char* k : {"enroll-key-1", "enroll-key-3", "enroll-key-8"}) h.tap(k);
  h.tap("enroll-submit");
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto e = std::get<cmd::Enroll>(sent[0]).request;
  CHECK(e.phone == "138");
  CHECK_FALSE(e.consentMarketing);
  CHECK_FALSE(e.birthday.has_value());
  apply(h.app, reply::Enrolled{Error{errc::kInvalidArgument, "phone", "not a mobile number"}});
  CHECK(h.app.enroll.error.field == "phone");
  CHECK(h.app.screen == Screen::kEnroll);
  h.tap("enroll-consent");
  CHECK(h.app.enrollUi.consent);
}

TEST_CASE("Touch targets are at least 48 px at 1024x768 and at 1920x1080", "[ui][screens]") {
  for (const auto& [w, hgt] : {std::pair{1024.0f, 768.0f}, std::pair{1920.0f, 1080.0f}}) {
    Headless h(w, hgt);
    memberOpen(h);
    h.frame();
    for (const char* id : {"member-sale", "member-redeem", "member-done", "nav-lookup", "nav-lang"}) {
      INFO(id << " at " << w);
      CHECK(h.rect(id).h >= 48);
      CHECK(h.rect(id).w >= 48);
      CHECK(h.rect(id).x + h.rect(id).w <= static_cast<int>(w));  // nothing off the right edge
      CHECK(h.rect(id).y + h.rect(id).h <= static_cast<int>(hgt));
    }
  }
}

TEST_CASE("The language switches at run time", "[ui][screens]") {
  Headless h;
  signedIn(h);
  CHECK(std::string(tr(h.app.lang, Msg::kPay)) == "Pay");
  h.tap("nav-lang");
  CHECK(h.app.lang == Lang::kZh);
  CHECK(std::string(tr(h.app.lang, Msg::kPay)) == "结账");
  CHECK(subst(tr(Lang::kZh, Msg::kGreetDefault), {"王小明"}) == "王小明，您好！");
}

TEST_CASE("Leaving the member for the lookup: the next sale is nobody's", "[ui][screens]") {
  Headless h;
  memberOpen(h);
  h.tap("nav-lookup");
  h.tap("go-sale-anon");
  for (const char* k : {"sale-key-5", "sale-key-ok"}) h.tap(k);
  auto sent = h.sent<cmd::Sale>();
  REQUIRE(sent.size() == 1);
  CHECK_FALSE(sent[0].request.member.has_value());
  CHECK_FALSE(h.app.customer.member.has_value());
}

TEST_CASE("A stray key never spoils the next scan, and typing is never taken for one", "[ui][screens]") {
  Headless h;
  memberOpen(h);
  h.type("7", false, 150);  // a stray key on the member panel
  h.pause(2000);
  h.type("LOYALTY:M1:8014598789742392", true, 4);
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  CHECK(std::get<cmd::Lookup>(sent[0]).query == "LOYALTY:M1:8014598789742392");
  CHECK(std::get<cmd::Lookup>(sent[0]).jumpIfOne);
  // The lookup screen's next frame sends no second, listing search for the same code.
  h.frame();
  h.frame();
  CHECK(h.sent().empty());

  SECTION("the same digits typed by a person are no scan") {
    memberOpen(h);
    h.sent();
    h.type("8014598789742392", true, 150);
    CHECK(h.app.screen == Screen::kMember);
    CHECK(h.sent().empty());
  }
}

TEST_CASE("Keys reach the sale amount, and Backspace, Ctrl+A and Escape correct it", "[ui][screens]") {
  Headless h;
  memberOpen(h);
  h.tap("member-sale");
  h.type("12.55", false, 150);
  h.key(TypedKey::Kind::kBackspace);
  CHECK(h.app.saleUi.amount == "12.5");
  h.key(TypedKey::Kind::kSelectAll);
  h.type("3", false, 150);
  CHECK(h.app.saleUi.amount == "3");
  h.key(TypedKey::Kind::kEscape);
  CHECK(h.app.saleUi.amount.empty());
  CHECK(h.app.screen == Screen::kSale);
  h.type("0", true, 150);  // a 0 line is refused
  CHECK(h.app.saleUi.lines.empty());
  h.key(TypedKey::Kind::kBackspace);
  h.type("128.5", true, 150);
  REQUIRE(h.app.saleUi.lines.size() == 1);
  CHECK(h.app.saleUi.lines[0].amount == "128.50");
  CHECK(h.sent<cmd::Sale>().empty());
}

TEST_CASE("Sign-out with an open sale asks, and the next cashier's cart is empty", "[ui][screens]") {
  Headless h;
  signedIn(h);
  h.tap("go-sale-anon");
  h.type("77", true, 150);
  REQUIRE(h.app.saleUi.lines.size() == 1);
  h.tap("nav-signout");
  CHECK(h.app.screen == Screen::kSale);  // asked, not yet gone
  REQUIRE(h.visible("confirm-no"));
  h.tap("confirm-no");
  CHECK(h.app.saleUi.lines.size() == 1);
  h.tap("nav-signout");
  h.tap("confirm-yes");
  CHECK(h.app.screen == Screen::kLogin);
  CHECK(h.app.saleUi.lines.empty());
  signedIn(h);
  h.tap("go-sale-anon");
  CHECK(h.app.saleUi.lines.empty());
  CHECK(h.app.customer.cart.empty());
}

TEST_CASE("The customer display: the tier greeting once, the balance after a redemption", "[ui][screens]") {
  Headless h;
  signedIn(h);
  const MemberDetail detail{member(), {{"tier_upgrade", "恭喜您升级为银卡会员！"}}};
  apply(h.app, reply::Member{detail, {}});
  REQUIRE(h.app.customer.greetings.size() == 1);
  apply(h.app, reply::Member{detail, {}});
  CHECK(h.app.customer.greetings.empty());
  CHECK(h.app.member.detail->greetings.size() == 1);  // the cashier still sees why

  h.app.screen = Screen::kMember;
  h.tap("member-redeem");
  h.sent();
  apply(h.app, reply::Redeemed{terminal::RedeemResult{"R", 2800, 796}});
  CHECK(h.app.customer.member->points == 796);
  CHECK(std::get<cmd::Member>(h.sent().at(0)).memberId == "m-1");  // history and balance refreshed
}

TEST_CASE("Refusals in the UI's language, gone once their field is corrected", "[ui][screens]") {
  Headless h;
  signedIn(h);
  h.app.lang = Lang::kZh;
  h.tap("go-enroll");
  h.type("138", false, 150);
  h.tap("enroll-submit");
  h.sent();
  apply(h.app, reply::Enrolled{Error{errc::kInvalidArgument, "phone", "not a mobile number"}});
  CHECK(h.app.enroll.error.message == "手机号码无效。");
  h.frame();
  CHECK(h.app.enroll.error.field == "phone");
  h.type("0", false, 150);
  CHECK(h.app.enroll.error.message.empty());
  CHECK(refusal(Lang::kZh, errc::kForbidden, "pin", "wrong PIN, 3 tries left") == "密码错误，还可尝试3次。");
  CHECK(refusal(Lang::kEn, errc::kForbidden, "pin", "wrong PIN, 3 tries left") == "wrong PIN, 3 tries left");
  CHECK(refusal(Lang::kZh, errc::kNotFound, "sale_id", "no sale \"X\" on this terminal") == "找不到这张小票。");
}

// [SECTION] Member details, consent and "my data" (screen_member_details.cpp)

namespace {

void detailsOpen(Headless& h) {
  memberOpen(h);
  h.tap("member-details");
  REQUIRE(h.app.screen == Screen::kMemberDetails);
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  CHECK(std::get<cmd::ConsentHistory>(sent[0]).memberId == "m-1");
}

}  // namespace

namespace {

/// A two-line sale (two teas and a pot) as previewRefund answers for it, with `amount` for what is asked.
terminal::RefundPreview teaAndPot(const char* amount, bool supervisor = false) {
  terminal::RefundPreview p;
  p.saleId = "T1-S1";
  p.member = member();
  p.saleTotal = Money::fromMinor(21'000);
  p.lines = {{1, "TEA", std::string("绿茶"), 2, "30.0000", Money::fromMinor(6'000), 0, 2, false},
             {2, "POT", std::nullopt, 1, "150.0000", Money::fromMinor(15'000), 0, 1, false}};
  p.amount = *Money::parse(amount, "amount");
  p.pointsReversed = p.amount.minor() / 100;
  p.supervisorRequired = supervisor;
  return p;
}

}  // namespace

TEST_CASE("Member details: only what differs is sent, with the signed-in staff member", "[ui][screens]") {
  Headless h;
  detailsOpen(h);
  CHECK(h.app.memberDetailsUi.name == "王小明");
  CHECK(h.app.memberDetailsUi.language == "zh-CN");  // the store's: the member has none of their own
  h.tap("details-save");  // nothing changed yet: nothing sent, and the cashier is told so
  CHECK(h.sent().empty());
  CHECK_FALSE(h.app.memberDetails.error.message.empty());

  for (const char* k : {"details-key-1", "details-key-3", "details-key-9"}) h.tap(k);
  CHECK(h.app.memberDetails.error.message.empty());  // gone once something changed
  h.type("11112222", false, 150);  // the keyboard writes to the same field
  h.tap("details-birthday");
  h.type("19900512", true, 150);  // Enter on the last field saves
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto r = std::get<cmd::UpdateMember>(sent[0]).request;
  CHECK(r.member == "m-1");
  CHECK(r.phone == std::optional<std::string>("13911112222"));
  REQUIRE(r.birthday.has_value());
  CHECK(*r.birthday == std::optional<std::string>("1990-05-12"));
  CHECK_FALSE(r.name.has_value());
  CHECK_FALSE(r.language.has_value());
  CHECK(r.staffId == std::optional<std::string>("7"));
  CHECK(h.app.memberDetails.busy);

  SECTION("a phone another member has: the refusal offers to open that member") {
    h.app.lang = Lang::kZh;
    apply(h.app, reply::MemberUpdated{"13911112222", Error{errc::kAlreadyExists, "phone", "another member is enrolled with this phone number"}});
    CHECK(h.app.memberDetails.error.message == "该手机号已登记为会员。");
    h.tap("details-open-owner");
    CHECK(h.app.screen == Screen::kLookup);
    const auto lookup = std::get<cmd::Lookup>(h.sent().at(0));
    CHECK(lookup.query == "13911112222");
    CHECK(lookup.jumpIfOne);
    CHECK_FALSE(h.app.customer.member.has_value());  // the member on the counter is now that one
  }
  SECTION("saved: the change shows, the new phone field is empty again") {
    MemberView changed = member();
    changed.phoneMasked = "139****2222";
    apply(h.app, reply::MemberUpdated{"13911112222", changed});
    CHECK_FALSE(h.app.memberDetails.busy);
    CHECK(h.app.memberDetailsUi.phone.empty());
    CHECK(h.app.memberDetails.member->phoneMasked == "139****2222");
    CHECK(h.app.memberDetails.banner == std::optional<Msg>(Msg::kChangesSaved));
  }
  SECTION("the language is chosen by a tap") {
    apply(h.app, reply::MemberUpdated{"", member()});
    h.tap("details-lang-en");
    h.tap("details-save");
    const auto u = std::get<cmd::UpdateMember>(h.sent().at(0)).request;
    CHECK(u.language == std::optional<std::string>("en"));
    CHECK_FALSE(u.phone.has_value());
  }
}

TEST_CASE("Member details: consent withdrawn with its text and version shown, and the member's data", "[ui][screens]") {
  Headless h;
  signedIn(h);
  MemberView m = member();
  m.consentMarketing = true;
  h.app.screen = Screen::kMember;
  apply(h.app, reply::Member{MemberDetail{m, {}}, {}});
  h.tap("member-details");
  h.sent();
  apply(h.app, reply::ConsentHistory{"m-1", std::vector<terminal::ConsentDecision>{
                                                {"2026-01-05 18:00", true, "2026-01", "S001", "7"}}});
  h.tap("details-tab-consent");
  CHECK(h.visible("details-consent-on"));
  h.tap("consent-withdraw");
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto c = std::get<cmd::Consent>(sent[0]).request;
  CHECK(c.member == "m-1");
  CHECK_FALSE(c.consentMarketing);
  CHECK_FALSE(c.consentVersion.has_value());  // the store's current text
  CHECK(c.staffId == std::optional<std::string>("7"));
  m.consentMarketing = false;
  apply(h.app, reply::ConsentRecorded{m});
  CHECK(h.visible("details-consent-off"));
  CHECK(h.visible("consent-give"));
  CHECK(std::get<cmd::ConsentHistory>(h.sent().at(0)).memberId == "m-1");  // the history again

  h.tap("details-tab-data");
  const auto x = std::get<cmd::ExportMember>(h.sent().at(0));
  CHECK(x.memberId == "m-1");
  CHECK(x.staffId == std::optional<std::string>("7"));
  CHECK_FALSE(h.visible("details-data"));
  terminal::MemberExport data;
  data.member = m;
  data.member.phone = "+8613800138000";
  data.log = {{"2026-12-02 09:50", "update", "name,phone", "S001", "7"}};
  data.sales = 3;
  apply(h.app, reply::MemberExported{data});
  CHECK(h.visible("details-data"));
}

TEST_CASE("Member details: a card scanned into the new phone field opens that card's member", "[ui][screens]") {
  Headless h;
  detailsOpen(h);
  h.type("139", false, 150);
  h.pause(1000);
  h.type("LOYALTY:M1:8014598789742392", true, 4);
  CHECK(h.app.screen == Screen::kLookup);
  CHECK(h.app.memberDetailsUi.phone.empty());
  const auto lookup = std::get<cmd::Lookup>(h.sent().at(0));
  CHECK(lookup.query == "LOYALTY:M1:8014598789742392");
  CHECK(lookup.jumpIfOne);
}

TEST_CASE("Enrolment with a phone another member has offers to open that member", "[ui][screens]") {
  Headless h;
  signedIn(h);
  h.tap("go-enroll");
  h.type("13800138000", false, 150);
  h.tap("enroll-submit");
  h.sent();
  CHECK_FALSE(h.visible("enroll-open-owner"));
  apply(h.app, reply::Enrolled{Error{errc::kAlreadyExists, "phone", "another member is enrolled with this phone number"}});
  h.tap("enroll-open-owner");
  CHECK(h.app.screen == Screen::kLookup);
  CHECK(h.app.enrollUi.phone.empty());  // the half-filled form is not left for the next person
  const auto lookup = std::get<cmd::Lookup>(h.sent().at(0));
  CHECK(lookup.query == "13800138000");
  CHECK(lookup.jumpIfOne);
  apply(h.app, reply::Lookup{lookup.seq, true, std::vector<MemberView>{member()}});
  CHECK(h.app.screen == Screen::kMember);

  SECTION("the button goes once the phone is corrected") {
    h.tap("nav-lookup");
    h.tap("go-enroll");
    h.type("13800138000", false, 150);
    h.tap("enroll-submit");
    apply(h.app, reply::Enrolled{Error{errc::kAlreadyExists, "phone", "another member is enrolled with this phone number"}});
    CHECK(h.visible("enroll-open-owner"));
    h.key(TypedKey::Kind::kBackspace);
    CHECK_FALSE(h.visible("enroll-open-owner"));
  }
}

TEST_CASE("Member details refusals in the UI's language", "[ui][screens]") {
  CHECK(refusal(Lang::kZh, errc::kInvalidArgument, "language", "language is zh-CN or en") == "语言须为中文或英文。");
  CHECK(refusal(Lang::kZh, errc::kAlreadyExists, "phone", "another member is enrolled with this phone number") ==
        "该手机号已登记为会员。");
  CHECK(refusal(Lang::kZh, errc::kInvalidArgument, "birthday", "birthday is YYYY-MM-DD") == "生日格式为 年-月-日。");
}

TEST_CASE("Refund by line: receipt on the code keypad, preview, quantities, confirmation", "[ui][screens]") {
  Headless h;
  signedIn(h);
  h.tap("go-refund");
  h.frame();
  for (const char* id : {"refund-key-1", "refund-key-Z", "refund-key-dash", "refund-key-ok"}) {
    INFO(id);
    CHECK(h.rect(id).w >= 48);
    CHECK(h.rect(id).h >= 48);
    CHECK(h.rect(id).x + h.rect(id).w <= 1024);  // the whole keypad on screen at 1024x768
    CHECK(h.rect(id).y + h.rect(id).h <= 768);
  }
  // A receipt number with letters and '-' typed on the touch keypad.
  for (const char* k : {"refund-key-T", "refund-key-1", "refund-key-dash", "refund-key-S", "refund-key-1"}) h.tap(k);
  CHECK(h.app.refundUi.saleId == "T1-S1");
  h.tap("refund-submit");
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto find = std::get<cmd::RefundPreview>(sent[0]);
  CHECK(find.request.saleId == "T1-S1");
  CHECK_FALSE(find.request.lines);  // everything left, to start with
  CHECK(h.sent().empty());
  apply(h.app, reply::RefundPreviewed{find.seq, teaAndPot("210.00", true)});
  CHECK(h.app.refundUi.qty == std::vector<std::int64_t>{2, 1});

  // The pot stays: one tap on its minus asks a new preview of the teas alone.
  h.tap("refund-line-1-minus");
  sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto teas = std::get<cmd::RefundPreview>(sent[0]);
  REQUIRE(teas.request.lines);
  CHECK(teas.request.lines->size() == 1);
  CHECK(teas.request.lines->at(0).sku == "TEA");
  CHECK(teas.request.lines->at(0).qty == 2);
  apply(h.app, reply::RefundPreviewed{find.seq, teaAndPot("210.00", true)});  // stale: dropped
  CHECK(h.app.refund.busy);
  apply(h.app, reply::RefundPreviewed{teas.seq, teaAndPot("60.00")});
  CHECK(h.app.refund.preview->amount.toString() == "60.00");
  h.tap("refund-line-0-minus");
  const auto oneTea = std::get<cmd::RefundPreview>(h.sent().at(0));
  apply(h.app, reply::RefundPreviewed{oneTea.seq, teaAndPot("30.00")});
  CHECK(refundLinesOf(h.app.refund, h.app.refundUi).at(0).qty == 1);

  // Nothing is refunded until the review is confirmed.
  h.tap("refund-review");
  CHECK(h.app.refundUi.reviewing);
  CHECK(h.sent().empty());
  h.tap("refund-confirm");
  sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto refund = std::get<cmd::Refund>(sent[0]).request;
  CHECK(refund.saleId == "T1-S1");
  REQUIRE(refund.lines);
  CHECK(refund.lines->size() == 1);
  CHECK(refund.lines->at(0).qty == 1);
  CHECK(refund.staffId == std::optional<std::string>("7"));
  CHECK_FALSE(refund.supervisorPin);
  apply(h.app, reply::Refunded{terminal::RefundResult{"F", Money::fromMinor(3'000), 30, 3566, {}, {}}});
  CHECK(h.visible("refund-result"));
  CHECK(h.app.customer.refund);
}

TEST_CASE("Refund above the supervisor limit: the PIN at the review, Enter confirms", "[ui][screens]") {
  Headless h;
  signedIn(h);
  h.tap("go-refund");
  h.type("T1-S1", true, 150);  // typed on a keyboard, Enter finds it
  const auto find = std::get<cmd::RefundPreview>(h.sent().at(0));
  CHECK(find.request.saleId == "T1-S1");
  apply(h.app, reply::RefundPreviewed{find.seq, teaAndPot("210.00", true)});
  h.key(TypedKey::Kind::kEnter);  // Enter: to the review
  CHECK(h.app.refundUi.reviewing);
  CHECK(h.visible("refund-supervisor-pin"));
  h.key(TypedKey::Kind::kEnter);  // no PIN yet: refused on screen, nothing sent
  CHECK(h.sent().empty());
  CHECK(h.app.refund.error.field == "supervisor_pin");
  h.type("246813", true, 150);
  const auto refund = std::get<cmd::Refund>(h.sent().at(0)).request;
  CHECK(refund.supervisorPin == std::optional<std::string>("246813"));
  CHECK_FALSE(refund.lines->empty());
  apply(h.app, reply::Refunded{Error{errc::kForbidden, "supervisor_pin", "that is not a supervisor's PIN"}});
  CHECK(h.app.refundUi.supervisorPin.empty());
  CHECK_FALSE(h.app.refund.error.message.empty());
}

TEST_CASE("Exchange: the chosen lines go back while the sale screen sells the new ones", "[ui][screens]") {
  Headless h;
  signedIn(h);
  h.tap("go-refund");
  h.type("T1-S1", true, 150);
  const auto find = std::get<cmd::RefundPreview>(h.sent().at(0));
  apply(h.app, reply::RefundPreviewed{find.seq, teaAndPot("210.00")});
  h.tap("refund-line-1-minus");
  const auto teas = std::get<cmd::RefundPreview>(h.sent().at(0));
  apply(h.app, reply::RefundPreviewed{teas.seq, teaAndPot("60.00")});
  h.tap("refund-exchange");
  CHECK(h.app.screen == Screen::kSale);
  REQUIRE(h.app.exchange);
  CHECK(h.visible("exchange-cancel"));
  CHECK(h.app.sale.member->memberId == "m-1");  // the receipt's member
  h.type("45", true, 150);
  h.tap("sale-key-ok");
  const auto sent = h.sent<cmd::Exchange>();  // the sale screen also asks for prices (QuoteSale)
  REQUIRE(sent.size() == 1);
  const auto x = sent[0].request;
  CHECK(x.saleId == "T1-S1");
  REQUIRE(x.returnLines.size() == 1);
  CHECK(x.returnLines[0].sku == "TEA");
  CHECK(x.returnLines[0].qty == 2);
  REQUIRE(x.newLines.size() == 1);
  CHECK(x.staffId == std::optional<std::string>("7"));
  terminal::ExchangeResult done{x.exchangeId, {x.exchangeId, Money::fromMinor(6'000), 60, 3581, {}, {}}, {},
                                Money::fromMinor(-1'500)};
  done.sale.total = Money::fromMinor(4'500);
  apply(h.app, reply::Exchanged{done});
  CHECK(h.app.screen == Screen::kRefund);
  CHECK_FALSE(h.app.exchange);
  CHECK(h.visible("refund-result"));
  // The next sale is an ordinary one again.
  h.tap("refund-done");
  CHECK_FALSE(h.app.exchange);
}

TEST_CASE("A locked cashier is unlocked at sign-in by a supervisor's PIN", "[ui][screens]") {
  Headless h;
  h.app.loginUi.staffId = "7";
  apply(h.app, reply::SignedIn{Error{errc::kForbidden, "staff_id",
                                     "the account 7 is locked after 5 wrong PINs: ask a supervisor to unlock it"}});
  h.tap("login-unlock");
  CHECK(h.app.unlockUi.open);
  for (const char* k : {"unlock-key-2", "unlock-key-4", "unlock-key-6", "unlock-key-8", "unlock-key-1", "unlock-key-3"}) {
    h.tap(k);
  }
  h.tap("unlock-key-ok");
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto u = std::get<cmd::UnlockStaff>(sent[0]);
  CHECK(u.staffId == "7");
  CHECK(u.supervisorPin == "246813");
  apply(h.app, reply::StaffUnlocked{"7", Ok{}});
  CHECK_FALSE(h.app.unlockUi.open);
  CHECK(h.app.loginUi.staffId == "7");
  CHECK(h.app.loginUi.focus == 1);  // the cashier types their PIN again
  CHECK(h.visible("login-key-ok"));
}

TEST_CASE("An exchange above the supervisor limit asks for the PIN first, then opens the sale", "[ui][screens]") {
  Headless h;
  signedIn(h);
  h.tap("go-refund");
  h.type("T1-S1", true, 150);
  const auto find = std::get<cmd::RefundPreview>(h.sent().at(0));
  apply(h.app, reply::RefundPreviewed{find.seq, teaAndPot("210.00", true)});
  h.tap("refund-exchange");
  CHECK(h.app.screen == Screen::kRefund);  // not yet: the PIN first
  CHECK(h.app.refundUi.reviewing);
  for (const char* k : {"refund-pin-key-2", "refund-pin-key-4", "refund-pin-key-6", "refund-pin-key-8",
                        "refund-pin-key-1", "refund-pin-key-3"}) {
    h.tap(k);
  }
  h.tap("refund-exchange");
  CHECK(h.app.screen == Screen::kSale);
  REQUIRE(h.app.exchange);
  CHECK(h.app.exchange->supervisorPin == "246813");
  h.type("300", true, 150);
  h.tap("sale-key-ok");
  const auto exchanges = h.sent<cmd::Exchange>();  // the sale screen also asks for prices (QuoteSale)
  REQUIRE(exchanges.size() == 1);
  const auto x = exchanges[0].request;
  CHECK(x.supervisorPin == std::optional<std::string>("246813"));
  CHECK(x.returnLines.size() == 2);
}

namespace {

Product water() {
  Product p;
  p.sku = "WATER-550";
  p.name = "农夫山泉 550ml";
  p.price = *UnitPrice::parse("2.00", "price");
  p.barcode = "6921168509256";
  return p;
}

/// The store's price of the cart last asked for: `lines` as given, each at 20 % off.
terminal::SaleQuote quoteOf(const terminal::SaleRequest& r, std::int64_t maxPoints) {
  terminal::SaleQuote q;
  for (const auto& l : r.lines) {
    const Money amount = *lineAmount(l.qty, *UnitPrice::parse("2.00", "p"), "amount");
    const Money off = Money::fromMinor(amount.minor() / 5);
    q.lines.push_back({l.sku, l.description.value_or(l.sku), l.qty, "2.00", amount, off});
    q.subtotal += amount;
    q.discount += off;
  }
  q.pointsRedeemed = r.redeemPoints;
  q.pointsValue = pointsValue(r.redeemPoints, 100);
  q.discount += q.pointsValue;
  q.total = q.subtotal - q.discount;
  q.maxRedeemPoints = maxPoints;
  q.balance = 3596;
  q.supervisorNeeded = r.redeemPoints > 2000;
  return q;
}

}  // namespace

TEST_CASE("A product scanned on the member panel opens the sale with it, again: one more, member price shown",
          "[ui][screens]") {
  Headless h;
  memberOpen(h);
  h.type("6921168509256", true);  // the scanner's burst
  auto scans = h.sent<cmd::ScanProduct>();
  REQUIRE(scans.size() == 1);
  CHECK(scans[0].code == "6921168509256");
  apply(h.app, reply::ProductScanned{"6921168509256", water()});
  CHECK(h.app.screen == Screen::kSale);
  REQUIRE(h.app.saleUi.lines.size() == 1);
  CHECK(h.app.saleUi.lines[0].sku == "WATER-550");
  h.frame();
  h.pause(500);
  h.type("6921168509256", true);
  REQUIRE(h.sent<cmd::ScanProduct>().size() == 1);
  CHECK(h.app.saleUi.amount.empty());  // the burst did not stay in the amount field
  apply(h.app, reply::ProductScanned{"6921168509256", water()});
  REQUIRE(h.app.saleUi.lines.size() == 1);
  CHECK(h.app.saleUi.lines[0].qty == 2);
  CHECK(h.app.saleUi.lines[0].amount == "4.00");

  // The cart goes to the store to be priced: the catalogue's product by sku, for the member.
  h.frame();
  auto quotes = h.sent<cmd::QuoteSale>();
  REQUIRE(quotes.size() == 1);
  const terminal::SaleRequest& asked = quotes[0].request;
  CHECK(asked.member == std::optional<std::string>("m-1"));
  REQUIRE(asked.lines.size() == 1);
  CHECK(asked.lines[0].sku == "WATER-550");
  CHECK(asked.lines[0].qty == 2);
  CHECK(asked.lines[0].unitPrice.empty());  // the catalogue's price, member prices applied by the store
  apply(h.app, reply::SaleQuoted{quotes[0].seq, quoteOf(asked, 320)});
  CHECK(h.visible("sale-line-price-0=3.20"));
  CHECK(h.visible("sale-to-pay=3.20"));

  h.tap("sale-line-plus-0");
  CHECK(h.app.saleUi.lines[0].qty == 3);
  h.tap("sale-line-minus-0");
  h.tap("sale-line-minus-0");
  CHECK(h.app.saleUi.lines[0].qty == 1);
  CHECK_FALSE(h.visible("sale-line-price-0=3.20"));  // an answer for 2 is not shown for 1

  // A code that is neither a product nor a member's: said so, the cart unchanged.
  apply(h.app, reply::ProductScanned{"12345678", std::nullopt});
  CHECK(h.app.sale.error.message.find("12345678") != std::string::npos);
  CHECK(h.app.saleUi.lines.size() == 1);

  // The product search: results listed, a tap adds one.
  h.app.saleUi.search = "nfsq";
  update(h.app, intent::FindProducts{"nfsq"});
  auto searches = h.sent<cmd::Products>();
  REQUIRE(searches.size() == 1);
  apply(h.app, reply::Products{searches[0].seq, std::vector<Product>{water()}});
  h.tap("sale-product-0");
  CHECK(h.app.saleUi.lines[0].qty == 2);
  CHECK(h.app.saleUi.search.empty());
}

TEST_CASE("Points pay part of the sale: all, their value, a supervisor's PIN above the limit", "[ui][screens]") {
  Headless h;
  memberOpen(h);
  h.tap("member-sale");
  apply(h.app, reply::ProductScanned{"WATER-550", water()});
  for (int i = 0; i < 1999; ++i) update(h.app, intent::ChangeQty{0, +1});  // 2000 bottles: 4,000.00
  h.frame();
  auto quotes = h.sent<cmd::QuoteSale>();
  REQUIRE_FALSE(quotes.empty());
  apply(h.app, reply::SaleQuoted{quotes.back().seq, quoteOf(quotes.back().request, 3596)});
  h.tap("sale-points-all");
  CHECK(h.app.saleUi.points == "3596");
  h.frame();
  quotes = h.sent<cmd::QuoteSale>();
  REQUIRE(quotes.size() == 1);
  CHECK(quotes[0].request.redeemPoints == 3596);
  apply(h.app, reply::SaleQuoted{quotes[0].seq, quoteOf(quotes[0].request, 3596)});
  CHECK(h.visible("sale-points-value=35.96"));
  // Above the limit (2000): no paying until a supervisor has typed their PIN.
  REQUIRE(h.visible("sale-pin"));
  h.tap("sale-key-ok");
  CHECK(h.sent<cmd::Sale>().empty());
  h.tap("sale-pin");
  h.type("246813", false, 150);
  CHECK(h.app.saleUi.supervisorPin == "246813");
  h.tap("sale-key-ok");
  auto sales = h.sent<cmd::Sale>();
  REQUIRE(sales.size() == 1);
  CHECK(sales[0].request.redeemPoints == 3596);
  CHECK(sales[0].request.supervisorPin == std::optional<std::string>("246813"));
  CHECK(sales[0].request.lines[0].sku == "WATER-550");
  CHECK(sales[0].request.lines[0].qty == 2000);
}

TEST_CASE("The customer display asks NPS 0-10, then each dimension, and sends one answer", "[ui][screens]") {
  Headless h;
  h.app.customerSetup.surveyScale = "nps10";
  h.app.customerSetup.surveyDimensions = {"reliability", "环境"};
  memberOpen(h);
  terminal::SaleRequest request;
  request.saleId = "T-S1";
  terminal::SaleResult result;
  result.saleId = "T-S1";
  result.total = Money::fromMinor(12850);
  apply(h.app, reply::Sold{request, result});
  h.sent();
  h.customerDisplay = true;
  CHECK(h.visible("survey-0"));
  CHECK(h.visible("survey-10"));
  CHECK_FALSE(h.visible("survey-11"));
  h.tap("survey-7");
  CHECK(h.sent().empty());  // the dimensions come first
  CHECK(h.visible("dimension-0-5"));
  h.tap("dimension-0-5");
  h.tap("dimension-skip");
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto answer = std::get<cmd::Survey>(sent[0]).answer;
  CHECK(answer.scale == "nps10");
  CHECK(answer.score == 7);
  CHECK(answer.dimensions == std::map<std::string, int>{{"reliability", 5}});
  CHECK(answer.saleId == std::optional<std::string>("T-S1"));
  CHECK(h.visible("customer-thanks"));
  CHECK(h.visible("customer-balance=3596"));

  SECTION("the next sale's survey starts from its first question") {
    request.saleId = result.saleId = "T-S2";
    apply(h.app, reply::Sold{request, result});
    CHECK(h.visible("survey-10"));
    CHECK_FALSE(h.visible("dimension-0-5"));
  }
}

TEST_CASE("The customer display: 1-5 stars by default, for a sale without a member too", "[ui][screens]") {
  Headless h;
  signedIn(h);
  terminal::SaleResult result;
  result.saleId = "T-S1";
  apply(h.app, reply::Sold{terminal::SaleRequest{}, result});
  h.sent();
  h.customerDisplay = true;
  CHECK(h.visible("survey-5"));
  CHECK_FALSE(h.visible("survey-0"));
  h.tap("survey-4");
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  CHECK(std::get<cmd::Survey>(sent[0]).answer.scale == "csat5");
  CHECK(std::get<cmd::Survey>(sent[0]).answer.dimensions.empty());
}

TEST_CASE("The customer display: the member's e-card on request, today's promotions while idle", "[ui][screens]") {
  Headless h;
  apply(h.app, reply::SignedIn{terminal::StaffMember{"7", "李娜", "cashier"}});
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  CHECK(std::holds_alternative<cmd::Promotions>(sent[0]));
  Promotion spend;
  spend.id = "spend300-off30";
  spend.threshold = Money::fromMinor(30000);
  spend.amount = Money::fromMinor(3000);
  apply(h.app, reply::Promotions{Date{}, {spend}});
  h.customerDisplay = true;
  CHECK(h.visible("customer-idle"));
  CHECK(h.visible("customer-promotion-0"));

  apply(h.app, reply::Member{MemberDetail{member(), {}}, {}});
  CHECK_FALSE(h.visible("customer-promotion-0"));
  h.tap("customer-show-card");
  CHECK(h.visible("customer-qr"));
  const auto qr = h.rect("customer-qr");
  CHECK(qr.w == qr.h);
  CHECK(qr.w >= 200);
  h.tap("customer-card-close");
  CHECK_FALSE(h.visible("customer-qr"));
  CHECK(h.visible("customer-show-card"));

  h.tap("customer-show-card");
  update(h.app, intent::CloseMember{});  // the next customer never sees it
  CHECK_FALSE(h.visible("customer-qr"));
  CHECK(h.visible("customer-promotion-0"));
}

TEST_CASE("Complaint screen: the course's six steps as the cashier's script, in both languages, the form still in reach",
          "[ui][screens]") {
  for (const auto& [w, hgt] : {std::pair{1024.0f, 768.0f}, std::pair{1920.0f, 1080.0f}}) {
    Headless h(w, hgt);
    signedIn(h);
    h.tap("nav-complaint");
    REQUIRE(h.app.screen == Screen::kComplaint);
    for (Lang lang : {Lang::kEn, Lang::kZh}) {
      h.app.lang = lang;
      // Two rows of steps where there is room; with the on-screen keyboard up on a small screen,
      // the steps' names on one line. Either way the script sits above the form, and the
      // description and the button to record stay on screen.
      const std::string last = h.visible("complaint-script-line") ? "complaint-script-line" : "complaint-script-6";
      if (last == "complaint-script-6") {
        for (int i = 1; i <= 6; ++i) CHECK(h.visible("complaint-script-" + std::to_string(i)));
      }
      CHECK(h.rect(last).y < h.rect("complaint-description").y);
      CHECK(h.rect("complaint-submit").y + h.rect("complaint-submit").h <= static_cast<int>(hgt));
    }
    CHECK(std::string(tr(Lang::kZh, Msg::kScriptListen)).find("倾听") != std::string::npos);
    CHECK(std::string(tr(Lang::kEn, Msg::kScriptThank)).find("Thank") != std::string::npos);
  }
}

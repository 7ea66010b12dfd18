// Headless screen tests: an ImGui context without a window (display size, delta time, a built
// font atlas), input fed through ImGuiIO, frames run, emitted commands and state asserted.
#include <catch2/catch.hpp>

#include <imgui.h>

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
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto sale = std::get<cmd::Sale>(sent[0]).request;
  CHECK(sale.member == std::optional<std::string>("m-1"));
  REQUIRE(sale.lines.size() == 1);
  CHECK(sale.lines[0].unitPrice == "128.50");  // amounts as the counter shows them
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
  sent = h.sent();
  REQUIRE(sent.size() == 1);
  const auto survey = std::get<cmd::Survey>(sent[0]).answer;
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
  auto sent = h.sent();
  REQUIRE(sent.size() == 1);
  CHECK_FALSE(std::get<cmd::Sale>(sent[0]).request.member.has_value());
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
  CHECK(h.sent().empty());
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

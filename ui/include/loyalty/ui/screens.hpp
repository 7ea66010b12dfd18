#pragma once
/// @brief The screens: drawXxx(const XxxViewModel&, XxxUiState&, const Ui&) -> Intents.
/// Each draws inside the current ImGui window and does no I/O.

#include "loyalty/ui/app.hpp"
#include "loyalty/ui/widgets.hpp"

namespace loyalty::ui {

/// A tier's name as the counter shows it.
const char* tierLabel(const Ui& u, const std::string& tier);

Intents drawLogin(const LoginViewModel& vm, LoginUiState& ui, const Ui& u);
Intents drawLookup(const LookupViewModel& vm, LookupUiState& ui, const Ui& u);
Intents drawMember(const MemberViewModel& vm, const Ui& u);
Intents drawEnroll(const EnrollViewModel& vm, EnrollUiState& ui, const Ui& u);
Intents drawSale(const SaleViewModel& vm, SaleUiState& ui, const Ui& u);
Intents drawReceipt(const ReceiptViewModel& vm, const Ui& u);
Intents drawRedeem(const RedeemViewModel& vm, RedeemUiState& ui, const Ui& u);
Intents drawRefund(const RefundViewModel& vm, RefundUiState& ui, const Ui& u);
/// Under the sign-in screen: "account unlocked", or the offer to unlock a locked account.
Intents drawUnlockOffer(const UnlockUiState& s, const Ui& u);
/// Instead of the sign-in screen: a supervisor's PIN unlocks the locked account.
Intents drawUnlock(UnlockUiState& s, const Ui& u);
/// Above the sale screen while an exchange is under way: what the returned lines count, and cancel.
Intents drawExchangeBanner(const ExchangeState& exchange, const Ui& u);
Intents drawComplaint(const ComplaintViewModel& vm, ComplaintUiState& ui, const Ui& u);
/// The course's six steps with a complaining customer, as the cashier's script on the complaint
/// screen (screen_complaint_script.cpp).
bool drawComplaintScript(const Ui& u);  ///< true: drawn as one line (no room for more)
Intents drawDayEnd(const DayEndViewModel& vm, const Ui& u);
Intents drawSettings(const SettingsViewModel& vm, const Ui& u);
/// Change a member's details, their marketing consent, and show them their data.
Intents drawMemberDetails(const MemberDetailsViewModel& vm, MemberDetailsUiState& ui, const Ui& u);
/// The customer-facing display (its own window and ImGui context): the cart, the member with
/// their QR e-card on request, the survey as configured, thanks, and today's promotions while
/// idle (customer_display.cpp).
Intents drawCustomer(const CustomerViewModel& vm, const CustomerDisplaySetup& setup, CustomerUiState& ui,
                     const Ui& u);

/// The counter window: status bar, the current screen, and the keys no field took (scanner).
/// Begins/ends its own full-viewport window; returns the intents of this frame.
Intents drawCounter(AppModel& app, const Ui& u);

/// Runs drawCounter, then feeds its intents and the keys to update()/keys(). `presses`: the keys
/// since the last frame, from the shell's events (ImGui 1.86 loses a key pressed and released
/// between two frames, which is how scanners and xdotool send them; and a scan is told from
/// typing by the keys' times).
void counterFrame(AppModel& app, const Ui& u, const TypedKeys& presses);
/// Runs drawCustomer in a full-viewport window and feeds its intents to update().
void customerFrame(AppModel& app, const Ui& u);

}  // namespace loyalty::ui

#pragma once
/// @brief The UI's message catalogue (zh-CN and en), kept in one place: src/i18n.cpp.

#include <initializer_list>
#include <string>
#include <string_view>

namespace loyalty::ui {

enum class Lang { kZh, kEn };

/// "zh-CN"/"zh" -> kZh, "en"/"en-GB"/... -> kEn; anything else: nullopt-like kZh with ok=false.
bool parseLang(std::string_view text, Lang& out);

// X(key, English, 简体中文). "{}" marks where subst() puts its arguments, in order.
#define LOYALTY_UI_MESSAGES(X)                                                                   \
  X(kAppTitle, "Loyalty counter", "会员收银台")                                               \
  X(kLoginHint, "Enter your staff number and PIN.", "请输入员工号和密码。")                    \
  X(kStaffId, "Staff number", "员工号")                                                        \
  X(kPin, "PIN", "密码")                                                                        \
  X(kNext, "Next", "下一步")                                                                    \
  X(kSignIn, "Sign in", "登录")                                                                 \
  X(kSignOut, "Sign out", "退出")                                                               \
  X(kOpeningStore, "Opening the store...", "正在打开门店数据…")                               \
  X(kCheckingPin, "Checking...", "正在验证…")                                                 \
  X(kErrStaffIdMissing, "Enter your staff number.", "请输入员工号。")                          \
  X(kErrPinShort, "A PIN has 4 to 8 digits.", "密码为4到8位数字。")                           \
  X(kKeyClear, "C", "清除")                                                                     \
  X(kKeyBack, "\xe2\x86\x90", "\xe2\x86\x90")                                                   \
  X(kLookupTitle, "Find member", "查找会员")                                                    \
  X(kLookupNumber, "Phone, last 4 digits or card", "手机号、尾号后4位或卡号")                \
  X(kLookupName, "Name", "姓名")                                                               \
  X(kLookupNameHint, "Type a name", "输入姓名")                                                \
  X(kFind, "Find", "查找")                                                                      \
  X(kNobodyFound, "No member found.", "没有找到会员。")                                        \
  X(kEnrollNew, "New member", "新会员")                                                        \
  X(kSaleNoMember, "Sale without member", "非会员销售")                                        \
  X(kScanning, "Scan:", "扫码：")                                                              \
  X(kGreetDefault, "Hello, {}!", "{}，您好！")                                                 \
  X(kPhone, "Phone", "手机")                                                                    \
  X(kCard, "Card", "卡号")                                                                      \
  X(kName, "Name", "姓名")                                                                      \
  X(kBalance, "Points", "积分")                                                                 \
  X(kDebt, "Owed", "欠积分")                                                                    \
  X(kSpend, "Spend", "累计消费")                                                               \
  X(kMemberSince, "Member since", "入会日期")                                                  \
  X(kRecentHistory, "Recent points history", "最近积分记录")                                   \
  X(kWhen, "When", "时间")                                                                      \
  X(kWhat, "What", "类型")                                                                      \
  X(kPoints, "Points", "积分")                                                                  \
  X(kPointsUnit, "points", "积分")                                                              \
  X(kBalanceAfter, "Balance", "余额")                                                           \
  X(kRefresh, "Refresh", "刷新")                                                                \
  X(kDone, "Done", "完成")                                                                      \
  X(kBack, "Back", "返回")                                                                      \
  X(kCancel, "Cancel", "取消")                                                                  \
  X(kTierMember, "Member", "普通会员")                                                         \
  X(kTierSilver, "Silver", "银卡会员")                                                         \
  X(kTierGold, "Gold", "金卡会员")                                                             \
  X(kTierPlatinum, "Platinum", "白金会员")                                                     \
  X(kTierUp, "New tier:", "升级为：")                                                          \
  X(kKindEarn, "Earned", "消费积分")                                                           \
  X(kKindRedeem, "Redeemed", "兑换")                                                            \
  X(kKindReversal, "Refund", "退货扣回")                                                       \
  X(kKindExpire, "Expired", "过期")                                                             \
  X(kKindBonus, "Bonus", "奖励")                                                                \
  X(kKindAdjust, "Adjustment", "调整")                                                          \
  X(kEnrollTitle, "New member", "新会员登记")                                                  \
  X(kBirthday, "Birthday (optional, YYYY-MM-DD)", "生日（可选，年-月-日）")                  \
  X(kReferrer, "Referred by (phone or card, optional)", "推荐人（手机或卡号，可选）")         \
  X(kConsentTick, "Send me offers", "同意接收优惠信息")                                        \
  X(kConsentText,                                                                                \
    "I agree that the store may send me offers by SMS. I can withdraw at any counter.",          \
    "本人同意门店通过短信向我发送优惠信息，可随时在柜台撤回。")                              \
  X(kEnrollSubmit, "Enrol", "登记")                                                             \
  X(kSaleTitle, "Sale", "收银")                                                                 \
  X(kAmount, "Amount", "金额")                                                                  \
  X(kDescription, "Description", "说明")                                                       \
  X(kItem, "Item", "商品")                                                                      \
  X(kLinesTotal, "Lines total", "已录入合计")                                                  \
  X(kAddLine, "Add line", "加一行")                                                            \
  X(kClearLines, "Clear lines", "清空")                                                         \
  X(kPay, "Pay", "结账")                                                                        \
  X(kErrAmountMissing, "Enter an amount.", "请输入金额。")                                     \
  X(kReceiptTitle, "Receipt", "小票")                                                           \
  X(kReceiptNo, "Receipt no.", "小票号")                                                       \
  X(kSubtotal, "Subtotal", "小计")                                                              \
  X(kDiscount, "Discount", "优惠")                                                              \
  X(kPromotion, "Promotion", "促销")                                                            \
  X(kTotal, "Total", "合计")                                                                    \
  X(kPointsEarned, "Points earned", "本次积分")                                                \
  X(kNewSale, "New sale", "下一笔")                                                            \
  X(kBackToMember, "Member", "会员信息")                                                       \
  X(kRedeemTitle, "Redeem", "积分兑换")                                                        \
  X(kCatalogue, "Gifts", "兑换礼品")                                                            \
  X(kCatalogueEmpty, "The gift catalogue is empty.", "暂无可兑换礼品。")                      \
  X(kPointsAsDiscount, "Points as discount", "积分抵现")                                       \
  X(kRedeemConfirm, "Redeem", "确认兑换")                                                      \
  X(kRedeemDo, "Confirm", "确认")                                                               \
  X(kSupervisorNeeded, "More than {} points: a supervisor enters their PIN.",                   \
    "超过{}积分，需主管输入密码。")                                                           \
  X(kSupervisorPin, "Supervisor PIN", "主管密码")                                              \
  X(kDebtBlocks, "Points are owed: redemption waits until they are repaid.",                     \
    "会员欠积分，还清前不能兑换。")                                                           \
  X(kRedeemedBanner, "Redeemed {} points, {} left.", "已兑换{}积分，剩余{}。")                \
  X(kRefundTitle, "Refund", "退货")                                                             \
  X(kRefundHint, "Scan or type the receipt number; the whole sale is refunded.",                 \
    "扫描或输入小票号，整单退货。")                                                           \
  X(kRefundAll, "Refund sale", "整单退货")                                                     \
  X(kRefunded, "Refunded", "已退款")                                                            \
  X(kPointsReversed, "Points reversed", "扣回积分")                                            \
  X(kErrReceiptMissing, "Enter the receipt number.", "请输入小票号。")                         \
  X(kComplaintTitle, "Complaint", "投诉登记")                                                  \
  X(kComplaintShort, "Complaint", "投诉")                                                       \
  X(kCategory, "Category", "类别")                                                              \
  X(kCatService, "Service", "服务")                                                             \
  X(kCatProduct, "Product", "商品")                                                             \
  X(kCatPrice, "Price", "价格")                                                                 \
  X(kCatPoints, "Points", "积分")                                                               \
  X(kCatWaiting, "Waiting", "等候")                                                             \
  X(kCatOther, "Other", "其他")                                                                 \
  X(kAboutMember, "About {}", "关于会员 {}")                                                    \
  X(kFileComplaint, "Record complaint", "提交投诉")                                            \
  X(kComplaintFiled, "The complaint is recorded.", "投诉已记录。")                             \
  X(kDayEndTitle, "End of day {}", "日结 {}")                                                  \
  X(kDayEndShort, "End of day", "日结")                                                         \
  X(kDaySales, "Sales", "销售笔数")                                                            \
  X(kDayMemberSales, "by members", "会员")                                                      \
  X(kDayRefunds, "Refunds", "退货")                                                             \
  X(kDayRedeemed, "Points redeemed", "兑换积分")                                               \
  X(kDayEnrolments, "New members", "新会员")                                                   \
  X(kDaySurveys, "Satisfaction answers / average", "满意度评价 / 平均")                       \
  X(kDayComplaints, "Complaints", "投诉")                                                       \
  X(kSyncPending, "Events waiting to sync", "待同步事件")                                     \
  X(kSettingsTitle, "Settings", "设置")                                                         \
  X(kLanguage, "Language", "语言")                                                              \
  X(kStore, "Store", "门店")                                                                    \
  X(kTerminal, "Terminal", "终端")                                                              \
  X(kDataDir, "Data", "数据目录")                                                              \
  X(kCurrency, "Currency", "币种")                                                              \
  X(kSignedInAs, "Signed in:", "当前员工：")                                                  \
  X(kSyncStatus, "Head office sync", "总部同步")                                               \
  X(kSyncOffline, "Offline: {} events wait for head office.", "离线：{}条事件等待上传总部。") \
  X(kOfflineShort, "Offline · {} waiting", "离线 · {}条待同步")                               \
  X(kAllSynced, "All synced", "已全部同步")                                                    \
  X(kMembers, "Members", "会员数")                                                              \
  X(kCustomerWelcome, "Welcome!", "欢迎光临！")                                                \
  X(kSurveyQuestion, "How was our service today?", "您对今天的服务满意吗？")                  \
  X(kSurveyThanks, "Thank you!", "谢谢您的评价！")                                             \
  X(kSkip, "Skip", "跳过")                                                                      \
  X(kErrAmountZero, "An amount must be more than 0.", "金额必须大于0。")                       \
  X(kDiscardSaleQ, "Discard the open sale ({} lines, {})?", "放弃未结账的交易（{}行，合计{}）？") \
  X(kDiscardSale, "Discard sale", "放弃交易")                                                  \
  X(kKeepSelling, "Keep selling", "继续收银")                                                  \
  X(kScanMidSale, "Member code scanned: {}. The sale is not paid yet.",                         \
    "扫到会员码：{}。当前交易尚未结账。")                                                    \
  X(kScanJoinSale, "Member joins this sale", "加入本单")                                       \
  X(kScanNewCustomer, "Discard sale, open member", "放弃本单，打开会员")                      \
  X(kIgnoreScan, "Ignore", "忽略")                                                              \
  X(kOverBalance, "Only {} points available.", "积分不足：可用{}积分。")                       \
  X(kPointsWorth, "{} points = {} off the bill", "{}积分 = 抵现{}元")                           \
  X(kDeleteLine, "Delete", "删除")                                                              \
  X(kYourItems, "Your items", "您的商品")                                                       \
  X(kRefundForYou, "Refunded to you: {}", "已为您退款：{}")                                    \
  X(kRefPinTriesLeft, "Wrong PIN, {} tries left.", "密码错误，还可尝试{}次。")                \
  X(kRefPinLocked, "The account is locked: ask a supervisor.", "账户已锁定，请找主管解锁。") \
  X(kRefPinWrong, "Wrong PIN.", "密码错误。")                                                  \
  X(kRefStaffUnknown, "No such staff number.", "没有这个员工号。")                            \
  X(kRefStaffBlocked, "This account is locked or disabled: ask a supervisor.",                  \
    "该员工账户已锁定或停用，请找主管。")                                                    \
  X(kRefSupervisorPin, "That is not a supervisor's PIN.", "主管密码不正确。")                 \
  X(kRefPhoneTaken, "A member with this phone number is already enrolled.", "该手机号已登记为会员。") \
  X(kRefPhoneInvalid, "Not a mobile phone number.", "手机号码无效。")                         \
  X(kRefBirthday, "A birthday is YYYY-MM-DD.", "生日格式为 年-月-日。")                       \
  X(kRefName, "Enter the name.", "请填写姓名。")                                               \
  X(kRefReferrer, "No member with that phone or card.", "找不到该推荐人。")                   \
  X(kRefReceiptUnknown, "No sale with that receipt number.", "找不到这张小票。")              \
  X(kRefAlreadyRefunded, "That sale is already refunded.", "这张小票已经退过货。")            \
  X(kRefPoints, "Not enough points.", "积分不足。")                                            \
  X(kRefAmount, "Not a valid amount.", "金额无效。")                                           \
  X(kRefInvalid, "Check the input: {}", "输入有误：{}")                                       \
  X(kRefNotFound, "Not found: {}", "没有找到：{}")                                             \
  X(kRefForbidden, "Not allowed: {}", "不允许：{}")                                            \
  X(kRefConflict, "Conflicts with an earlier record: {}", "与已有记录冲突：{}")               \
  X(kRefOther, "Not done: {}", "未完成：{}")                                                  \
  X(kDayNet, "Net of refunds (before)", "净额（退货前）")                                          \
  X(kDayPointsNet, "Points earned, net of refunds", "净赠送积分（扣除退货）")                  \
  X(kDayByStaff, "Per cashier", "按收银员")                                                     \
  X(kDayStaff, "Cashier", "收银员")                                                             \
  X(kDayStaffUnknown, "(not recorded)", "（未记录）")                                           \
  X(kDayStaffRefunds, "Refunds", "退货")                                                        \
  X(kDayStaffNet, "Net", "净额")                                                                \
  X(kDayStaffPoints, "Points", "积分")                                                          \
  X(kDayStaffEnrol, "Enrolled", "办卡")

enum class Msg {
#define LOYALTY_UI_MESSAGE_KEY(key, en, zh) key,
  LOYALTY_UI_MESSAGES(LOYALTY_UI_MESSAGE_KEY)
#undef LOYALTY_UI_MESSAGE_KEY
      kCount
};

const char* tr(Lang lang, Msg msg);
/// `text` with each "{}" replaced by the next argument.
std::string subst(std::string_view text, std::initializer_list<std::string> args);
/// A service's refusal as the cashier reads it in `lang`: by its code and field (the services
/// word their messages in English); the service's own sentence in English.
std::string refusal(Lang lang, std::string_view code, std::string_view field, std::string_view message);
/// Every message in every language, concatenated: the glyphs the UI's own text needs.
std::string allCatalogueText();

}  // namespace loyalty::ui

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
  X(kRefOther, "Not done: {}", "未完成：{}") \
  X(kMemberDetailsButton, "Details & consent", "资料与授权") \
  X(kMemberDetailsTitle, "Member details: {}", "会员资料：{}") \
  X(kTabDetails, "Change details", "修改资料") \
  X(kTabConsent, "Marketing consent", "营销授权") \
  X(kTabData, "Show my data", "查看我的数据") \
  X(kNewPhone, "New phone (now {})", "新手机号（现为{}）") \
  X(kBirthdayShort, "Birthday (YYYY-MM-DD)", "生日（年-月-日）") \
  X(kLanguageZh, "Chinese", "中文") \
  X(kLanguageEn, "English", "英文") \
  X(kSaveChanges, "Save changes", "保存修改") \
  X(kChangesSaved, "Changes saved.", "已保存修改。") \
  X(kNothingChanged, "Nothing to save: change a field first.", "没有需要保存的修改。") \
  X(kOpenPhoneOwner, "\xe2\x86\x92 Open the member with this phone", "\xe2\x86\x92 打开该手机号的会员") \
  X(kConsentIsOn, "Agrees to receive offers by SMS", "已同意接收短信优惠信息") \
  X(kConsentIsOff, "Receives no offers (no consent)", "未同意接收优惠信息") \
  X(kConsentTextVersion, "Consent text, version {}:", "授权文本（版本 {}）：") \
  X(kConsentGive, "Give consent", "同意接收") \
  X(kConsentWithdraw, "Withdraw consent", "撤回同意") \
  X(kConsentGivenDone, "Consent given: offers may be sent.", "已同意，可发送优惠信息。") \
  X(kConsentWithdrawnDone, "Consent withdrawn: no more offers will be sent.", "已撤回同意，不再发送优惠信息。") \
  X(kConsentHistory, "Consent history", "授权记录") \
  X(kConsentGiven, "Given", "同意") \
  X(kConsentWithdrawn, "Withdrawn / not given", "撤回/未同意") \
  X(kVersion, "Version", "版本") \
  X(kDataIntro, "Everything this counter holds on you:", "本终端保存的您的全部信息：") \
  X(kDataSales, "Sales recorded", "消费记录笔数") \
  X(kDataLedger, "Points entries", "积分记录条数") \
  X(kDataLog, "Changes and views of your data", "资料修改与查看记录") \
  X(kLogUpdate, "Details changed: {}", "修改资料：{}") \
  X(kLogConsent, "Consent decision", "授权变更") \
  X(kLogExport, "Data shown", "查看数据") \
  X(kNotGiven, "(none)", "（无）") \
  X(kRefLanguage, "A language is Chinese or English.", "语言须为中文或英文。") \
  X(kFieldBirthday, "Birthday", "生日") \
  X(kTier, "Tier", "等级") \
  X(kLastVisit, "Last visit", "最近到店") \
  X(kDecision, "Decision", "选择") \
  X(kKbdToLatin, "中 → ABC", "中 → 英")                                                         \
  X(kKbdToPinyin, "ABC → 中", "英 → 中")                                                        \
  X(kKbdShift, "Shift", "大写")                                                                 \
  X(kKbdSpace, "space", "空格")                                                                 \
  X(kKbdEnter, "OK", "确定")                                                                    \
  X(kKbdPrev, "◀", "◀")                                                                         \
  X(kKbdNext, "▶", "▶") \
  X(kRefundScanHint, "Scan or type the receipt number, then choose what comes back.",           \
    "扫描或输入小票号，再选择退回的商品。")                                                  \
  X(kRefundFind, "Find receipt", "查找小票")                                                    \
  X(kRefundItem, "Item", "商品")                                                                \
  X(kRefundBought, "Bought", "购买")                                                            \
  X(kRefundDone, "Refunded", "已退")                                                            \
  X(kRefundReturn, "Return", "退回")                                                            \
  X(kRefundMember, "Member: {}", "会员：{}")                                                    \
  X(kRefundNoMember, "Sale without member", "非会员交易")                                      \
  X(kRefundSaleTotal, "Receipt {}: paid {}", "小票 {}：实付 {}")                               \
  X(kRefundAmount, "To pay back: {}", "应退金额：{}")                                          \
  X(kRefundPointsBack, "Points taken back: {}", "扣回积分：{}")                                \
  X(kRefundPointsReturned, "Points paid with, given back: {}", "退回抵现积分：{}")             \
  X(kRefundClawback, "Spend discount taken back: {}", "满减优惠扣回：{}")                     \
  X(kRefundGifts, "Gifts to give back: {}", "需退回赠品：{}")                                   \
  X(kRefundNothingLeft, "Everything on this receipt is refunded.", "这张小票已全部退货。")    \
  X(kRefundConfirmQ, "Pay back {} to the customer?", "确认退给顾客 {} 元？")                   \
  X(kRefundConfirm, "Refund now", "确认退款")                                                   \
  X(kRefundNeedsSupervisor, "A supervisor's PIN is needed for this refund.", "此笔退款需要主管密码。") \
  X(kRefundGift, "gift", "赠品")                                                                \
  X(kAnotherReceipt, "Another receipt", "换一张小票")                                           \
  X(kExchange, "Exchange", "换货")                                                              \
  X(kExchangeBanner, "Exchange: the returned items count {}. Add the new items, then pay.",     \
    "换货：退回商品抵 {} 元。请录入新商品后结账。")                                          \
  X(kExchangeCancel, "Cancel exchange", "取消换货")                                             \
  X(kExchanged, "Exchanged", "换货完成")                                                        \
  X(kExchangeNew, "New items: {}", "新商品：{}")                                                \
  X(kExchangePays, "Customer pays: {}", "顾客补差价：{}")                                       \
  X(kExchangeGiveBack, "Give back to the customer: {}", "退还顾客：{}")                         \
  X(kUnlockAccount, "Supervisor unlock", "主管解锁")                                            \
  X(kUnlockHint, "A supervisor enters their PIN to unlock account {}.", "请主管输入密码，解锁员工 {}。") \
  X(kStaffUnlocked, "Account {} unlocked: sign in again.", "员工 {} 已解锁，请重新登录。") \
  X(kSaleSearch, "Product: scan, or type barcode, SKU, name or pinyin",                         \
    "商品：扫码，或输入条码、货号、名称、拼音")                                             \
  X(kSaleNoProduct, "No product with the code {}.", "没有编码为 {} 的商品。")                   \
  X(kSaleNoProducts, "No product found.", "没有找到商品。")                                     \
  X(kSaleManualAmount, "Other item: amount", "目录外商品金额")              \
  X(kSaleMemberPrice, "member price", "会员价")                                                 \
  X(kSaleToPay, "To pay", "应付")                                                               \
  X(kSalePointsToEarn, "Points to earn", "本单可得积分")                                        \
  X(kSalePayPoints, "Pay with points", "积分抵现")                                              \
  X(kSalePointsAll, "All", "全部")                                                              \
  X(kSalePointsWorth, "{} points pay {}", "{} 积分抵 {} 元")                                    \
  X(kSalePointsMax, "at most {}", "最多可用 {}")                                                \
  X(kSaleSupervisorPin, "Supervisor PIN (above {} points)", "主管密码（超过 {} 积分）")        \
  X(kPointsPaid, "Paid with points", "积分抵扣")                                                \
  X(kRefPointsOverSale, "The points are worth more than what is left to pay.", "积分抵扣金额超过应付金额。") \
  X(kCustomerShowCard, "My member QR code", "我的电子会员卡")                                 \
  X(kCustomerCardHint, "Show it at any of our counters.", "在任一门店收银台出示即可。")      \
  X(kCustomerCardNo, "Card no. {}", "卡号 {}")                                                  \
  X(kCustomerCardClose, "Done", "完成")                                                         \
  X(kNpsQuestion, "How likely are you to recommend us to a friend?", "您有多大可能向朋友推荐我们？") \
  X(kNpsUnlikely, "0 = not at all likely", "0 = 完全不可能")                                    \
  X(kNpsLikely, "10 = extremely likely", "10 = 非常可能")                                       \
  X(kDimensionStep, "A few more questions ({}/{})", "还有几个小问题（{}/{}）")                 \
  X(kDimensionQuestion, "How would you rate: {}", "请为“{}”打分")                            \
  X(kDimTangibles, "our store and facilities", "门店环境与设施")                                \
  X(kDimReliability, "getting things right", "服务准确可靠")                                    \
  X(kDimResponsiveness, "quick, willing help", "服务及时主动")                                  \
  X(kDimAssurance, "knowledgeable, courteous staff", "员工专业、值得信赖")                     \
  X(kDimEmpathy, "personal attention", "关心体贴")                                              \
  X(kThanksVisit, "We look forward to your next visit.", "期待您再次光临。")                  \
  X(kTodayOffers, "Today's offers", "今日优惠")                                                 \
  X(kPromoSpendOff, "Spend {}, get {} off", "满{}减{}")                                         \
  X(kPromoSpendOffEach, "Every {} spent: {} off", "每满{}减{}")                                 \
  X(kPromoGift, "Spend {}, get a gift: {}", "满{}赠{}")                                         \
  X(kPromoMemberPrice, "Members: {}% off selected items", "会员专享：指定商品立减{}%")         \
  X(kPromoPoints, "{}x points", "积分{}倍")                                                      \
  X(kPromoMemberDay, "Member day: {}x points", "会员日：积分{}倍")                              \
  X(kPromoUntil, "until {}", "截至{}")                                                           \
  X(kPromoMembersOnly, "members only", "会员专享") \
  X(kDayNet, "Net of refunds (before)", "净额（退货前）")                                          \
  X(kDayPointsNet, "Points earned, net of refunds", "净赠送积分（扣除退货）")                  \
  X(kDayByStaff, "Per cashier", "按收银员")                                                     \
  X(kDayStaff, "Cashier", "收银员")                                                             \
  X(kDayStaffUnknown, "(not recorded)", "（未记录）")                                           \
  X(kDayStaffRefunds, "Refunds", "退货")                                                        \
  X(kDayStaffNet, "Net", "净额")                                                                \
  X(kDayStaffPoints, "Points", "积分")                                                          \
  X(kDayStaffEnrol, "Enrolled", "办卡")                                                         \
  X(kScriptTitle, "Six steps with the customer", "投诉接待六步")                                 \
  X(kScriptListen, "1 Listen: let them finish", "1 倾听：让顾客说完，不打断")                 \
  X(kScriptConfirm, "2 Confirm: repeat the problem", "2 确认：复述问题，确认无误")             \
  X(kScriptApologise, "3 Apologise: \"I'm sorry\"", "3 道歉：“很抱歉给您添麻烦了”")          \
  X(kScriptAcknowledge, "4 Acknowledge: they are right to say", "4 认同：理解并肯定顾客感受") \
  X(kScriptExplain, "5 Explain: what happens next", "5 解释：说明处理办法和时间")             \
  X(kScriptThank, "6 Thank: for telling us", "6 致谢：感谢顾客反映问题")

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

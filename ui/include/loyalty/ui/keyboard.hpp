#pragma once
/// @brief The on-screen keyboard for a touchscreen without a system input method: pinyin with
/// hanzi candidates (PinyinEngine), Latin letters, digits and space, switched 中/英; big keys
/// (at least kMinTouch high at 1024×768) across the bottom of the counter window.
///
/// Pinyin is typed into the field itself, at its end, and `composing` says how many of the
/// field's last letters are still pinyin: a search field searches by them as they are typed
/// (the lookup finds 张三丰 by "zsf"), and choosing a candidate replaces the letters it stands
/// for. Anything else that changes the field (a hardware key, another field) ends the pinyin.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::ui {

class PinyinEngine;
struct Ui;

struct KeyboardUiState {
  bool latin = false;       ///< 英: letters go in as they are; 中: they spell pinyin
  bool shift = false;       ///< 英: the next letter is a capital
  bool hidden = false;      ///< put away (a hardware keyboard is typing) until its field is tapped
  std::string composing;    ///< the pinyin at the end of the field, not yet chosen
  std::size_t page = 0;     ///< the page of candidates on screen
  std::vector<std::string> shown;  ///< the candidates on screen: their glyphs must be in the font
  std::string target;       ///< the id of the field it types into; another field starts afresh
  bool enter = false;       ///< its Enter key was pressed: the screen's next step (taken by the app)
};

/// Lines of text a field box shows: one (a name), or several wrapped (a description).
enum class FieldLines { kOne, kSeveral };

/// A field the on-screen keyboard types into: its text (with the pinyin being composed
/// underlined), a caret when focused, `hint` (greyed) when empty and not focused. True when
/// tapped (which also brings the keyboard back).
bool textField(const Ui& u, const char* label, const std::string& value, const char* id, bool focused,
               float width, FieldLines lines = FieldLines::kOne, float height = 0, const char* hint = nullptr);

/// The keyboard's height at the UI's scale (its five rows of keys and their spacing).
float keyboardHeight(const Ui& u);

/// Draws the keyboard `width` wide at the cursor and applies its keys to `text` (at most
/// `maxLen` bytes). `u.pinyin` may be null (the dictionary is still loading or missing): the
/// keyboard then types Latin letters only.
void drawKeyboard(KeyboardUiState& s, std::string& text, std::size_t maxLen, const Ui& u, float width);

// [SECTION] What the keys do (pure, tested without a window)

/// Keeps the state true to the field: a new field (`targetId`) starts afresh, and pinyin the
/// field no longer ends with (edited by other means) is no longer being composed.
void keyboardFollow(KeyboardUiState& s, const std::string& text, std::string_view targetId);
/// One key's character: a letter (pinyin in 中 mode), a digit, space or punctuation.
void keyboardType(KeyboardUiState& s, std::string& text, std::size_t maxLen, std::string_view key,
                  PinyinEngine* engine);
/// Backspace: the last pinyin letter while composing, else the field's last character.
void keyboardBackspace(KeyboardUiState& s, std::string& text);
/// Candidate `index` for the pinyin being composed replaces the letters it stands for; the rest
/// stays pinyin. False when it would not fit in `maxLen`.
bool keyboardChoose(KeyboardUiState& s, std::string& text, std::size_t maxLen, PinyinEngine& engine,
                    std::size_t index);
/// Ends composing: the letters stay as typed (Enter, 中/英, or leaving the field).
void keyboardCommit(KeyboardUiState& s);

}  // namespace loyalty::ui

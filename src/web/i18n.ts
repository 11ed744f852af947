// The words our pages say, in the languages we offer, and which of them a
// page is shown in (pickLocale: the one place that decides).
import { consoleEn, consoleZhTW } from './i18n-console.js';
import { tryEn, tryZhTW } from './i18n-try.js';
import { learnEn, learnZhTW } from './i18n-learn.js';

export const LOCALES = ['en', 'zh-TW'] as const;
export type Locale = (typeof LOCALES)[number];

const en = {
  'login.title': 'Sign in',
  'login.lead': 'to continue to {client}',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.failed': 'Wrong username or password.',
  'login.missing': 'Enter your username and password.',
  'login.throttled': 'Too many failed sign-ins. Try again in {minutes} minutes.',
  'login.busy': 'Too many sign-ins at this moment. Try again in a few seconds.',
  'consent.title': 'Allow access',
  'consent.lead': '{client} wants to:',
  'consent.signedInAs': 'Signed in as {username}',
  'consent.allow': 'Allow',
  'consent.deny': 'Deny',
  'consent.claims': 'Read these details about you: {claims}',
  cancel: 'Cancel',
  'list.separator': ', ',
  'scope.openid': 'Know who you are (your account identifier)',
  'scope.profile': 'Read your profile: your name, username and server ID',
  'scope.email': 'Read your e-mail address',
  'scope.offline_access': 'Stay connected when you are not using it',
  'scope.buy': 'Buy items on your behalf',
  'scope.buy_history': 'Read your purchase history',
  'claim.name': 'your name',
  'claim.preferred_username': 'your username',
  'claim.email': 'your e-mail address',
  'claim.email_verified': 'whether your e-mail address is verified',
  'logout.title': 'Sign out',
  'logout.lead': 'Do you want to sign out of {host}?',
  'logout.yes': 'Yes, sign me out',
  'logout.no': 'No, stay signed in',
  'logoutSuccess.title': 'Signed out',
  'logoutSuccess.lead': 'You have signed out.',
  'logoutSuccess.leadClient': 'You have signed out of {client}.',
  'error.title': 'Something went wrong',
  'error.lead': 'The application that sent you here made a request this server cannot accept.',
  'error.expired': 'This sign-in page has expired or was already used. Go back to the application and start again.',
  'error.csrf':
    'This form was not submitted from this page, or it has expired. Go back to the application and start again.',
  'error.what': 'What happened',
  'error.code': 'Error code',
  'error.detail': 'Detail',
  'error.invalid_request': 'The request is missing something it needs, or has something wrong in it.',
  'error.invalid_client': 'The application is not known to this server, or it could not prove who it is.',
  'error.invalid_redirect_uri':
    'The address the application asked to return to is not one it registered. For your safety you are not sent there.',
  'error.unauthorized_client': 'The application is not allowed to sign you in this way.',
  'error.unsupported_response_type': 'The application asked for a kind of answer this server does not give.',
  'error.invalid_scope': 'The application asked for permissions it may not have.',
  'error.access_denied': 'Access was denied.',
  'error.login_required': 'You need to sign in first.',
  'error.consent_required': 'Your permission is needed first.',
  'error.interaction_required': 'You need to take part in this sign-in.',
  'error.invalid_target': 'The application asked for an API this server does not know.',
  'error.server_error': 'Something went wrong on our side. Try again later.',
  'error.temporarily_unavailable': 'The service is busy or down for a moment. Try again later.',
  'error.other': 'The request could not be completed.',
  'error.notFound': 'There is no page at this address.',
  'error.methodNotAllowed': 'This page cannot be used that way. Go back to the application and start again.',
  'error.badRequest': 'The browser sent something this page cannot read. Go back and try again.',
  'locale.nav': 'Language',
  'callback.title': 'Authorization response',
  'callback.lead': 'The server sent the browser back to this address with:',
  'callback.next': 'Exchange the code at the token endpoint within its lifetime; it works once.',
  'loggedOut.title': 'Logout response',
  'loggedOut.lead':
    "The server signed you out and sent the browser back to this address (the client's post_logout_redirect_uri) with:",
  'loggedOut.next':
    'There is nothing to exchange here: the client only checks that state is the one it sent with its logout request.',
  ...consoleEn,
  ...tryEn,
  ...learnEn,
} as const;

export type MessageKey = keyof typeof en;

const zhTW: Record<MessageKey, string> = {
  'login.title': '登入',
  'login.lead': '以繼續使用 {client}',
  'login.username': '使用者名稱',
  'login.password': '密碼',
  'login.submit': '登入',
  'login.failed': '使用者名稱或密碼錯誤。',
  'login.missing': '請輸入使用者名稱與密碼。',
  'login.throttled': '登入失敗次數過多，請於 {minutes} 分鐘後再試。',
  'login.busy': '目前登入人數過多，請數秒後再試。',
  'consent.title': '授權存取',
  'consent.lead': '{client} 想要：',
  'consent.signedInAs': '目前登入：{username}',
  'consent.allow': '允許',
  'consent.deny': '拒絕',
  'consent.claims': '讀取您的這些資料：{claims}',
  cancel: '取消',
  'list.separator': '、',
  'scope.openid': '知道您是誰（您的帳號識別碼）',
  'scope.profile': '查看個人資料：姓名、使用者名稱與 server ID',
  'scope.email': '查看您的電子郵件地址',
  'scope.offline_access': '在您未使用時保持連線',
  'scope.buy': '代您購買品項',
  'scope.buy_history': '查看您的購買記錄',
  'claim.name': '姓名',
  'claim.preferred_username': '使用者名稱',
  'claim.email': '電子郵件地址',
  'claim.email_verified': '電子郵件地址是否已驗證',
  'logout.title': '登出',
  'logout.lead': '要登出 {host} 嗎？',
  'logout.yes': '是，登出',
  'logout.no': '否，保持登入',
  'logoutSuccess.title': '已登出',
  'logoutSuccess.lead': '您已登出。',
  'logoutSuccess.leadClient': '您已登出 {client}。',
  'error.title': '發生錯誤',
  'error.lead': '將您導向此處的應用程式送出了本伺服器無法接受的請求。',
  'error.expired': '此登入頁面已過期或已使用過。請回到應用程式重新開始。',
  'error.csrf': '此表單並非從本頁送出，或已過期。請回到應用程式重新開始。',
  'error.what': '發生了什麼',
  'error.code': '錯誤代碼',
  'error.detail': '詳細資訊',
  'error.invalid_request': '請求缺少必要內容，或內容有誤。',
  'error.invalid_client': '本伺服器不認得此應用程式，或它無法證明自己的身分。',
  'error.invalid_redirect_uri': '應用程式要求返回的網址並未註冊。為了您的安全，不會將您導向該處。',
  'error.unauthorized_client': '此應用程式不允許以這種方式讓您登入。',
  'error.unsupported_response_type': '應用程式要求的回應類型本伺服器不支援。',
  'error.invalid_scope': '應用程式要求了它無權取得的權限。',
  'error.access_denied': '存取遭拒。',
  'error.login_required': '您需要先登入。',
  'error.consent_required': '需要先取得您的同意。',
  'error.interaction_required': '此登入需要您的操作。',
  'error.invalid_target': '應用程式要求了本伺服器不認得的 API。',
  'error.server_error': '我們這邊發生問題，請稍後再試。',
  'error.temporarily_unavailable': '服務暫時忙碌或無法使用，請稍後再試。',
  'error.other': '無法完成此請求。',
  'error.notFound': '此網址沒有頁面。',
  'error.methodNotAllowed': '無法以這種方式使用此頁面。請回到應用程式重新開始。',
  'error.badRequest': '瀏覽器送出了此頁面無法讀取的內容。請返回後再試一次。',
  'locale.nav': '語言',
  'callback.title': '授權回應',
  'callback.lead': '伺服器將瀏覽器導回此網址，並附上：',
  'callback.next': '請在有效期限內到 token 端點交換此 code；它只能使用一次。',
  'loggedOut.title': '登出回應',
  'loggedOut.lead': '伺服器已將您登出，並將瀏覽器導回此網址（用戶端的 post_logout_redirect_uri），並附上：',
  'loggedOut.next': '這裡沒有需要交換的東西：用戶端只需確認 state 與它送出登出請求時的相同。',
  ...consoleZhTW,
  ...tryZhTW,
  ...learnZhTW,
};

const catalogs: Record<Locale, Record<MessageKey, string>> = { en, 'zh-TW': zhTW };

/** Every message of one language (for the tests that compare the catalogs). */
export function messages(locale: Locale): Readonly<Record<MessageKey, string>> {
  return catalogs[locale];
}

export type Translate = (key: MessageKey, vars?: Record<string, string>) => string;

export function translator(locale: Locale): Translate {
  const catalog = catalogs[locale];
  return (key, vars = {}) => catalog[key].replace(/\{(\w+)\}/g, (m, name: string) => vars[name] ?? m);
}

export function hasMessage(key: string): key is MessageKey {
  return key in en;
}

function match(tag: string): Locale | undefined {
  const t = tag.trim().toLowerCase();
  if (!t) return undefined;
  if (t === 'en' || t.startsWith('en-')) return 'en';
  // Traditional Chinese: zh-TW, zh-HK, zh-Hant(-*); plain "zh" too, as the seed's users are in Taiwan.
  if (t === 'zh' || t.startsWith('zh-tw') || t.startsWith('zh-hk') || t.startsWith('zh-hant')) return 'zh-TW';
  return undefined;
}

/** The name of each language in itself, for the switcher. */
export const LANGUAGE_NAMES: Record<Locale, string> = { en: 'English', 'zh-TW': '繁體中文' };

/** A language tag we offer, from a switcher link or a cookie; anything else is no choice. */
export function offeredLocale(value: unknown): Locale | undefined {
  return typeof value === 'string' && value.length <= 35 ? match(value) : undefined;
}

/** What a person has said about their language, strongest first (see pickLocale). */
export interface LocaleChoice {
  /** Picked by a click on the switcher on this very page (its path): beats even ui_locales. */
  picked?: unknown;
  /** Picked on any page before, remembered in a cookie. */
  remembered?: unknown;
}

/**
 * Which language a page is shown in, in this order:
 * 1. a click on the switcher on this page (choice.picked): the person said so
 *    themselves, here, which is stronger than anything said on their behalf;
 * 2. `ui_locales` (OIDC Core §3.1.2.1), space-separated by preference: the
 *    client's word for the person, given with this very request, so it beats
 *    a choice remembered from another page and another time;
 * 3. the language last picked on the switcher (choice.remembered);
 * 4. Accept-Language (RFC 9110 §12.5.4), q-weighted;
 * 5. English.
 */
export function pickLocale(uiLocales: unknown, acceptLanguage: string | undefined, choice: LocaleChoice = {}): Locale {
  const picked = offeredLocale(choice.picked);
  if (picked) return picked;
  if (typeof uiLocales === 'string') {
    for (const tag of uiLocales.split(' ')) {
      const found = match(tag);
      if (found) return found;
    }
  }
  const remembered = offeredLocale(choice.remembered);
  if (remembered) return remembered;
  const weighted = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag, q: q ? Number(q.slice(2)) || 0 : 1 };
    })
    .sort((a, b) => b.q - a.q);
  for (const { tag, q } of weighted) {
    const found = q > 0 ? match(tag) : undefined;
    if (found) return found;
  }
  return 'en';
}

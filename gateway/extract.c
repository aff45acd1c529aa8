/*
 * extract.c - URLs, contact tokens and phone numbers in normalized SMS text.
 *
 * Input: text that went through afgw_normalize (lower case, half-width,
 * noise between ideographs removed), though any bytes are safe.  Output:
 * bounded lists of items with their span in that text and a normalized
 * value.  Called by workers per message; pure, allocates nothing.
 *
 * One left-to-right scan.  At each position a URL is tried first, then a
 * contact token, then a phone number; whatever matches is consumed whole,
 * so the digits of a URL or of a QQ id are never also a phone number.
 * Items only start at a token boundary (the character before is not an
 * ASCII letter or digit), which keeps the scan linear and means Chinese
 * text glued to a URL (点击icbc-vip.top领取) still gives the bare host.
 *
 *  - URLs: http:// and https:// with any host (userinfo@ skipped: the
 *    host is what follows the last '@'), www.<name>.<letters>, and bare
 *    names whose last label is a top-level domain (the lists below: the
 *    common and much-abused ones always, the rest of the root zone when
 *    the name looks made for a machine).  Hosts are ASCII (punycode xn--
 *    labels are kept as written, not decoded); trailing sentence
 *    punctuation is not part of a URL; e-mail addresses (a preceding '@')
 *    are not URLs.
 *  - Contacts: a WeChat, QQ or messenger token, then filler (':' '@',
 *    spaces, symbols such as ❤, and 号 / 是 / 为 / id: "我的微信是 abc123",
 *    "+v❤ abc123"), then an id of 5-30 [0-9a-z_-] (QQ: 5-12 digits) that
 *    is not a domain; a Latin token must not run into letters (vxworks).
 *    A bare WeChat default id (wxid_...) counts as a contact on its own.
 *  - Numbers: 5-15 digits, groups separated by one space or '-', an
 *    optional leading '+' and "(area)" prefix; not verification codes,
 *    not amounts, dates or counts (a unit such as 元 or 年 follows), not
 *    what a label calls an account, card, order or case number (卡号,
 *    运单号, account), and not card or tracking numbers written in short
 *    blocks that run past 15 digits (6217 0000 1234 5678).
 */
#include <stdlib.h>
#include <string.h>

#include "afgw/extract.h"

/*
 * Top-level domains.  A bare name (no scheme, no www.) is a host when its
 * last label is in one of two lists:
 *
 *  - tlds_common: the generic and country TLDs people write, and the ones
 *    fraud campaigns register in bulk.  The cheap new gTLDs come from the
 *    abuse rankings of the last years (Spamhaus "most abused TLDs",
 *    Interisle's phishing landscape studies, the smishing waves of
 *    2023-24: .top .xyz .icu .vip .cyou .sbs .cfd .bond .lat .help
 *    .claims .support .world .life .win .xin ...).  Any name ending in one
 *    of these is a host.
 *  - tlds_iana: every ASCII top-level domain in the root zone (from the
 *    ICANN section of the Public Suffix List, 2023-02-09; IDN TLDs are
 *    left out since hosts are matched as written, not decoded).  Many are
 *    English words (call, today, love, how), so a name ending in one of
 *    these only counts when it looks made for a machine rather than two
 *    words run together ("home.call"): a hyphen or a digit in it, three
 *    or more labels, or a path or port after it.
 */
static const char *const tlds_common[] = {
	"com", "net", "org", "info", "biz", "edu", "gov", "mil", "int", "name", "pro", "mobi",
	"asia", "cn", "hk", "tw", "mo", "uk", "us", "sg", "jp", "kr", "de", "fr", "ru", "in",
	"au", "ca", "nz", "eu", "my", "ph", "th", "vn", "id", "io", "co", "me", "cc", "tv",
	"ws", "ly", "gl", "gd", "im", "top", "xyz", "vip", "club", "icu", "shop", "online",
	"site", "fun", "work", "live", "ltd", "wang", "ink", "pw", "buzz", "tk", "ml", "ga",
	"cf", "gq", "app", "dev", "ai", "xin", "store", "tech", "link", "win", "bid", "loan",
	"click", "cloud", "life", "today", "world", "ren", "pub", "cyou", "sbs", "cfd", "bond",
	"skin", "lol", "one", "space", "website", "host", "fit", "red", "run", "kim", "rest",
	"bar", "best", "services", "support", "vin", "cash", "money", "finance", "email",
	/* abused new gTLDs and ccTLDs seen in smishing */
	"help", "claims", "trade", "express", "delivery", "quest", "monster", "uno", "lat",
	"autos", "boats", "homes", "motorcycles", "yachts", "beauty", "hair", "makeup", "mom",
	"pics", "surf", "cam", "gdn", "racing", "cricket", "faith", "science", "accountant",
	"download", "stream", "review", "reviews", "gifts", "promo", "bet", "casino", "vegas",
	"zip", "mov", "su", "cx", "tokyo", "loans", "ooo", "wiki",
};

static const char *const tlds_iana[] = {
	"aaa", "aarp", "abarth", "abb", "abbott", "abbvie", "abc", "able", "abogado", "abudhabi",
	"ac", "academy", "accenture", "accountant", "accountants", "aco", "actor", "ad", "ads",
	"adult", "ae", "aeg", "aero", "aetna", "af", "afl", "africa", "ag", "agakhan", "agency",
	"ai", "aig", "airbus", "airforce", "airtel", "akdn", "al", "alfaromeo", "alibaba",
	"alipay", "allfinanz", "allstate", "ally", "alsace", "alstom", "am", "amazon",
	"americanexpress", "americanfamily", "amex", "amfam", "amica", "amsterdam", "analytics",
	"android", "anquan", "anz", "ao", "aol", "apartments", "app", "apple", "aq", "aquarelle",
	"ar", "arab", "aramco", "archi", "army", "arpa", "art", "arte", "as", "asda", "asia",
	"associates", "at", "athleta", "attorney", "au", "auction", "audi", "audible", "audio",
	"auspost", "author", "auto", "autos", "avianca", "aw", "aws", "ax", "axa", "az", "azure",
	"ba", "baby", "baidu", "banamex", "bananarepublic", "band", "bank", "bar", "barcelona",
	"barclaycard", "barclays", "barefoot", "bargains", "baseball", "basketball", "bauhaus",
	"bayern", "bb", "bbc", "bbt", "bbva", "bcg", "bcn", "be", "beats", "beauty", "beer",
	"bentley", "berlin", "best", "bestbuy", "bet", "bf", "bg", "bh", "bharti", "bi", "bible",
	"bid", "bike", "bing", "bingo", "bio", "biz", "bj", "black", "blackfriday", "blockbuster",
	"blog", "bloomberg", "blue", "bm", "bms", "bmw", "bn", "bnpparibas", "bo", "boats",
	"boehringer", "bofa", "bom", "bond", "boo", "book", "booking", "bosch", "bostik", "boston",
	"bot", "boutique", "box", "br", "bradesco", "bridgestone", "broadway", "broker", "brother",
	"brussels", "bs", "bt", "build", "builders", "business", "buy", "buzz", "bv", "bw", "by",
	"bz", "bzh", "ca", "cab", "cafe", "cal", "call", "calvinklein", "cam", "camera", "camp",
	"canon", "capetown", "capital", "capitalone", "car", "caravan", "cards", "care", "career",
	"careers", "cars", "casa", "case", "cash", "casino", "cat", "catering", "catholic", "cba",
	"cbn", "cbre", "cbs", "cc", "cd", "center", "ceo", "cern", "cf", "cfa", "cfd", "cg", "ch",
	"chanel", "channel", "charity", "chase", "chat", "cheap", "chintai", "christmas", "chrome",
	"church", "ci", "cipriani", "circle", "cisco", "citadel", "citi", "citic", "city",
	"cityeats", "cl", "claims", "cleaning", "click", "clinic", "clinique", "clothing", "cloud",
	"club", "clubmed", "cm", "cn", "co", "coach", "codes", "coffee", "college", "cologne",
	"com", "comcast", "commbank", "community", "company", "compare", "computer", "comsec",
	"condos", "construction", "consulting", "contact", "contractors", "cooking",
	"cookingchannel", "cool", "coop", "corsica", "country", "coupon", "coupons", "courses",
	"cpa", "cr", "credit", "creditcard", "creditunion", "cricket", "crown", "crs", "cruise",
	"cruises", "cu", "cuisinella", "cv", "cw", "cx", "cy", "cymru", "cyou", "cz", "dabur",
	"dad", "dance", "data", "date", "dating", "datsun", "day", "dclk", "dds", "de", "deal",
	"dealer", "deals", "degree", "delivery", "dell", "deloitte", "delta", "democrat", "dental",
	"dentist", "desi", "design", "dev", "dhl", "diamonds", "diet", "digital", "direct",
	"directory", "discount", "discover", "dish", "diy", "dj", "dk", "dm", "dnp", "do", "docs",
	"doctor", "dog", "domains", "dot", "download", "drive", "dtv", "dubai", "dunlop", "dupont",
	"durban", "dvag", "dvr", "dz", "earth", "eat", "ec", "eco", "edeka", "edu", "education",
	"ee", "eg", "email", "emerck", "energy", "engineer", "engineering", "enterprises", "epson",
	"equipment", "ericsson", "erni", "es", "esq", "estate", "et", "etisalat", "eu",
	"eurovision", "eus", "events", "exchange", "expert", "exposed", "express", "extraspace",
	"fage", "fail", "fairwinds", "faith", "family", "fan", "fans", "farm", "farmers",
	"fashion", "fast", "fedex", "feedback", "ferrari", "ferrero", "fi", "fiat", "fidelity",
	"fido", "film", "final", "finance", "financial", "fire", "firestone", "firmdale", "fish",
	"fishing", "fit", "fitness", "fj", "flickr", "flights", "flir", "florist", "flowers",
	"fly", "fm", "fo", "foo", "food", "foodnetwork", "football", "ford", "forex", "forsale",
	"forum", "foundation", "fox", "fr", "free", "fresenius", "frl", "frogans", "frontdoor",
	"frontier", "ftr", "fujitsu", "fun", "fund", "furniture", "futbol", "fyi", "ga", "gal",
	"gallery", "gallo", "gallup", "game", "games", "gap", "garden", "gay", "gb", "gbiz", "gd",
	"gdn", "ge", "gea", "gent", "genting", "george", "gf", "gg", "ggee", "gh", "gi", "gift",
	"gifts", "gives", "giving", "gl", "glass", "gle", "global", "globo", "gm", "gmail", "gmbh",
	"gmo", "gmx", "gn", "godaddy", "gold", "goldpoint", "golf", "goo", "goodyear", "goog",
	"google", "gop", "got", "gov", "gp", "gq", "gr", "grainger", "graphics", "gratis", "green",
	"gripe", "grocery", "group", "gs", "gt", "gu", "guardian", "gucci", "guge", "guide",
	"guitars", "guru", "gw", "gy", "hair", "hamburg", "hangout", "haus", "hbo", "hdfc",
	"hdfcbank", "health", "healthcare", "help", "helsinki", "here", "hermes", "hgtv", "hiphop",
	"hisamitsu", "hitachi", "hiv", "hk", "hkt", "hm", "hn", "hockey", "holdings", "holiday",
	"homedepot", "homegoods", "homes", "homesense", "honda", "horse", "hospital", "host",
	"hosting", "hot", "hoteles", "hotels", "hotmail", "house", "how", "hr", "hsbc", "ht", "hu",
	"hughes", "hyatt", "hyundai", "ibm", "icbc", "ice", "icu", "id", "ie", "ieee", "ifm",
	"ikano", "il", "im", "imamat", "imdb", "immo", "immobilien", "in", "inc", "industries",
	"infiniti", "info", "ing", "ink", "institute", "insurance", "insure", "int",
	"international", "intuit", "investments", "io", "ipiranga", "iq", "ir", "irish", "is",
	"ismaili", "ist", "istanbul", "it", "itau", "itv", "jaguar", "java", "jcb", "je", "jeep",
	"jetzt", "jewelry", "jio", "jll", "jmp", "jnj", "jo", "jobs", "joburg", "jot", "joy", "jp",
	"jpmorgan", "jprs", "juegos", "juniper", "kaufen", "kddi", "ke", "kerryhotels",
	"kerrylogistics", "kerryproperties", "kfh", "kg", "ki", "kia", "kids", "kim", "kinder",
	"kindle", "kitchen", "kiwi", "km", "kn", "koeln", "komatsu", "kosher", "kp", "kpmg", "kpn",
	"kr", "krd", "kred", "kuokgroup", "kw", "ky", "kyoto", "kz", "la", "lacaixa",
	"lamborghini", "lamer", "lancaster", "lancia", "land", "landrover", "lanxess", "lasalle",
	"lat", "latino", "latrobe", "law", "lawyer", "lb", "lc", "lds", "lease", "leclerc",
	"lefrak", "legal", "lego", "lexus", "lgbt", "li", "lidl", "life", "lifeinsurance",
	"lifestyle", "lighting", "like", "lilly", "limited", "limo", "lincoln", "linde", "link",
	"lipsy", "live", "living", "lk", "llc", "llp", "loan", "loans", "locker", "locus", "lol",
	"london", "lotte", "lotto", "love", "lpl", "lplfinancial", "lr", "ls", "lt", "ltd", "ltda",
	"lu", "lundbeck", "luxe", "luxury", "lv", "ly", "ma", "macys", "madrid", "maif", "maison",
	"makeup", "man", "management", "mango", "map", "market", "marketing", "markets",
	"marriott", "marshalls", "maserati", "mattel", "mba", "mc", "mckinsey", "md", "me", "med",
	"media", "meet", "melbourne", "meme", "memorial", "men", "menu", "merckmsd", "mg", "mh",
	"miami", "microsoft", "mil", "mini", "mint", "mit", "mitsubishi", "mk", "ml", "mlb", "mls",
	"mma", "mn", "mo", "mobi", "mobile", "moda", "moe", "moi", "mom", "monash", "money",
	"monster", "mormon", "mortgage", "moscow", "moto", "motorcycles", "mov", "movie", "mp",
	"mq", "mr", "ms", "msd", "mt", "mtn", "mtr", "mu", "museum", "music", "mutual", "mv", "mw",
	"mx", "my", "mz", "na", "nab", "nagoya", "name", "natura", "navy", "nba", "nc", "ne",
	"nec", "net", "netbank", "netflix", "network", "neustar", "new", "news", "next",
	"nextdirect", "nexus", "nf", "nfl", "ng", "ngo", "nhk", "ni", "nico", "nike", "nikon",
	"ninja", "nissan", "nissay", "nl", "no", "nokia", "northwesternmutual", "norton", "now",
	"nowruz", "nowtv", "nr", "nra", "nrw", "ntt", "nu", "nyc", "nz", "obi", "observer",
	"office", "okinawa", "olayan", "olayangroup", "oldnavy", "ollo", "om", "omega", "one",
	"ong", "onion", "onl", "online", "ooo", "open", "oracle", "orange", "org", "organic",
	"origins", "osaka", "otsuka", "ott", "ovh", "pa", "page", "panasonic", "paris", "pars",
	"partners", "parts", "party", "passagens", "pay", "pccw", "pe", "pet", "pf", "pfizer",
	"ph", "pharmacy", "phd", "philips", "phone", "photo", "photography", "photos", "physio",
	"pics", "pictet", "pictures", "pid", "pin", "ping", "pink", "pioneer", "pizza", "pk", "pl",
	"place", "play", "playstation", "plumbing", "plus", "pm", "pn", "pnc", "pohl", "poker",
	"politie", "porn", "post", "pr", "pramerica", "praxi", "press", "prime", "pro", "prod",
	"productions", "prof", "progressive", "promo", "properties", "property", "protection",
	"pru", "prudential", "ps", "pt", "pub", "pw", "pwc", "py", "qa", "qpon", "quebec", "quest",
	"racing", "radio", "re", "read", "realestate", "realtor", "realty", "recipes", "red",
	"redstone", "redumbrella", "rehab", "reise", "reisen", "reit", "reliance", "ren", "rent",
	"rentals", "repair", "report", "republican", "rest", "restaurant", "review", "reviews",
	"rexroth", "rich", "richardli", "ricoh", "ril", "rio", "rip", "ro", "rocher", "rocks",
	"rodeo", "rogers", "room", "rs", "rsvp", "ru", "rugby", "ruhr", "run", "rw", "rwe",
	"ryukyu", "sa", "saarland", "safe", "safety", "sakura", "sale", "salon", "samsclub",
	"samsung", "sandvik", "sandvikcoromant", "sanofi", "sap", "sarl", "sas", "save", "saxo",
	"sb", "sbi", "sbs", "sc", "sca", "scb", "schaeffler", "schmidt", "scholarships", "school",
	"schule", "schwarz", "science", "scot", "sd", "se", "search", "seat", "secure", "security",
	"seek", "select", "sener", "services", "seven", "sew", "sex", "sexy", "sfr", "sg", "sh",
	"shangrila", "sharp", "shaw", "shell", "shia", "shiksha", "shoes", "shop", "shopping",
	"shouji", "show", "showtime", "si", "silk", "sina", "singles", "site", "sj", "sk", "ski",
	"skin", "sky", "skype", "sl", "sling", "sm", "smart", "smile", "sn", "sncf", "so",
	"soccer", "social", "softbank", "software", "sohu", "solar", "solutions", "song", "sony",
	"soy", "spa", "space", "sport", "spot", "sr", "srl", "ss", "st", "stada", "staples",
	"star", "statebank", "statefarm", "stc", "stcgroup", "stockholm", "storage", "store",
	"stream", "studio", "study", "style", "su", "sucks", "supplies", "supply", "support",
	"surf", "surgery", "suzuki", "sv", "swatch", "swiss", "sx", "sy", "sydney", "systems",
	"sz", "tab", "taipei", "talk", "taobao", "target", "tatamotors", "tatar", "tattoo", "tax",
	"taxi", "tc", "tci", "td", "tdk", "team", "tech", "technology", "tel", "temasek", "tennis",
	"teva", "tf", "tg", "th", "thd", "theater", "theatre", "tiaa", "tickets", "tienda",
	"tiffany", "tips", "tires", "tirol", "tj", "tjmaxx", "tjx", "tk", "tkmaxx", "tl", "tm",
	"tmall", "tn", "to", "today", "tokyo", "tools", "top", "toray", "toshiba", "total",
	"tours", "town", "toyota", "toys", "tr", "trade", "trading", "training", "travel",
	"travelchannel", "travelers", "travelersinsurance", "trust", "trv", "tt", "tube", "tui",
	"tunes", "tushu", "tv", "tvs", "tw", "tz", "ua", "ubank", "ubs", "ug", "uk", "unicom",
	"university", "uno", "uol", "ups", "us", "uy", "uz", "va", "vacations", "vana", "vanguard",
	"vc", "ve", "vegas", "ventures", "verisign", "versicherung", "vet", "vg", "vi", "viajes",
	"video", "vig", "viking", "villas", "vin", "vip", "virgin", "visa", "vision", "viva",
	"vivo", "vlaanderen", "vn", "vodka", "volkswagen", "volvo", "vote", "voting", "voto",
	"voyage", "vu", "vuelos", "wales", "walmart", "walter", "wang", "wanggou", "watch",
	"watches", "weather", "weatherchannel", "webcam", "weber", "website", "wedding", "weibo",
	"weir", "wf", "whoswho", "wien", "wiki", "williamhill", "win", "windows", "wine",
	"winners", "wme", "wolterskluwer", "woodside", "work", "works", "world", "wow", "ws",
	"wtc", "wtf", "xbox", "xerox", "xfinity", "xihuan", "xin", "xxx", "xyz", "yachts", "yahoo",
	"yamaxun", "yandex", "ye", "yodobashi", "yoga", "yokohama", "you", "youtube", "yt", "yun",
	"zappos", "zara", "zero", "zip", "zm", "zone", "zuerich", "zw",
};

/* Link shorteners: the host or any name under it. */
static const char *const shorteners[] = {
	"t.cn", "dwz.cn", "url.cn", "suo.im", "3.cn", "u.jd.com", "tb.cn", "xhslink.com",
	"v.douyin.com", "b23.tv", "v.kuaishou.com", "bit.ly", "tinyurl.com", "goo.gl", "t.co",
	"is.gd", "v.gd", "ow.ly", "buff.ly", "rebrand.ly", "cutt.ly", "rb.gy", "t.ly",
	"tiny.cc", "shorturl.at", "s.id", "j.mp", "reurl.cc", "lihi.cc", "ppt.cc", "0rz.tw",
};

/* Registries only governments can register in: never a look-alike. */
static const char *const restricted[] = {
	"gov.cn", "gov.hk", "gov.mo", "gov.tw", "gov.uk", "gov.sg", "gov", "mil", "edu.cn",
};

/*
 * Brands fraud imitates, with the domains that really are theirs.  A host
 * that carries the brand name but is not under one of its domains (nor
 * under a restricted registry) is a look-alike: icbc-vip.top,
 * www.icbc.com.cn.verify.xyz, jd-refund.cc.  Names of three letters or
 * fewer must be a whole dot/hyphen part of the host (abc in "abcd.com" is
 * nothing); longer ones may start or end a part (icbcvip.top, myicbc.cc,
 * which also flags pineapple.com for apple: the signal is a weight, not a
 * verdict); digits may sit anywhere.  abc's list includes the unrelated
 * owners of that word (Alphabet, the broadcasters).
 */
struct brand {
	const char *name;
	const char *real[12];
};

static const struct brand brands[] = {
	{ "icbc", { "icbc.com.cn", "icbc.com" } },
	{ "95588", { "icbc.com.cn", "icbc.com" } },
	{ "ccb", { "ccb.com", "ccb.cn" } },
	{ "abc", { "abchina.com", "abchina.com.cn", "abc.xyz", "abc.com", "abc.net.au", "abc.go.com" } },
	{ "boc", { "boc.cn", "bankofchina.com" } },
	{ "cmbchina", { "cmbchina.com" } },
	{ "bankcomm", { "bankcomm.com" } },
	{ "psbc", { "psbc.com" } },
	{ "alipay", { "alipay.com", "alipay.cn", "alipayobjects.com" } },
	{ "taobao", { "taobao.com" } },
	{ "jd", { "jd.com", "jd.hk" } },
	{ "pinduoduo", { "pinduoduo.com" } },
	{ "12306", { "12306.cn" } },
	{ "12123", { "122.gov.cn" } },
	{ "chsi", { "chsi.com.cn", "chsi.cn" } },
	{ "etc", { NULL } },
	{ "gov", { NULL } }, /* the restricted registries are gov's real domains */
	{ "apple", { "apple.com", "apple.com.cn", "apple.cn", "icloud.com" } },
	{ "paypal", { "paypal.com", "paypal.cn", "paypal.me", "paypalobjects.com" } },
	{ "dhl", { "dhl.com", "dhl.cn", "dhl.de", "dhl.co.uk" } },
	{ "fedex", { "fedex.com" } },
	{ "ups", { "ups.com" } },
	{ "royalmail", { "royalmail.com", "royalmail.co.uk" } },
	{ "usps", { "usps.com" } },
	{ "hmrc", { "gov.uk" } },
	{ "irs", { "irs.gov" } },
	{ "amazon",
	  { "amazon.com", "amazon.cn", "amazon.co.uk", "amazon.de", "amazon.co.jp", "amazon.fr",
	    "amazon.it", "amazon.es", "amazon.ca", "amazon.com.au", "amazon.in", "amazonaws.com" } },
};

/*
 * Contact tokens as normalization leaves them (lower case, half-width),
 * longest first where one is a prefix of another.  Beyond the brief's
 * list: 加微, wechat, weixin, qq群, the homophones 徽信 / 维信 / 芯 (信 →
 * 芯), and the messengers fraud moves victims to (Telegram, WhatsApp ids,
 * 飞机 / 纸飞机 / 电报 for Telegram), reported as type "other".  A token
 * marked sep is too common alone (a lone v or q, an English word) and
 * needs a ':' '@' or a symbol (❤ ☎ 📱) before its id: "V：abc123", "v❤
 * abc123", "Telegram: @abc_123".
 */
#define TOKEN(s, f, sep) { s, sizeof(s) - 1, f, sep }
#define WX AFGW_EXTRACT_F_WECHAT
#define QQ AFGW_EXTRACT_F_QQ
static const struct {
	const char *tok;
	size_t len;
	unsigned flag;
	bool sep;
} contact_tokens[] = {
	TOKEN("wechat", WX, false), TOKEN("weixin", WX, false), TOKEN("whatsapp", 0, true),
	TOKEN("加v", WX, false),    TOKEN("+v", WX, false),     TOKEN("v信", WX, false),
	TOKEN("v芯", WX, false),    TOKEN("薇信", WX, false),   TOKEN("薇芯", WX, false),
	TOKEN("薇", WX, false),     TOKEN("威信", WX, false),   TOKEN("威芯", WX, false),
	TOKEN("威", WX, false),     TOKEN("微信", WX, false),   TOKEN("微芯", WX, false),
	TOKEN("徽信", WX, false),   TOKEN("维信", WX, false),   TOKEN("加微", WX, false),
	TOKEN("vx", WX, false),     TOKEN("wx", WX, false),     TOKEN("v", WX, true),
	TOKEN("qq群", QQ, false),   TOKEN("qq", QQ, false),     TOKEN("扣扣", QQ, false),
	TOKEN("q群", QQ, false),    TOKEN("企鹅", QQ, false),   TOKEN("加q", QQ, false),
	TOKEN("q", QQ, true),       TOKEN("telegram", 0, true), TOKEN("tg", 0, true),
	TOKEN("skype", 0, true),    TOKEN("纸飞机", 0, false),  TOKEN("飞机", 0, false),
	TOKEN("电报", 0, false),
};
#undef QQ
#undef WX
#undef TOKEN

struct word {
	const char *w;
	size_t len;
};
#define W(s) { s, sizeof(s) - 1 }

/* Words that make the 5-6 digits next to them a one-time code. */
static const struct word code_words[] = {
	W("验证码"), W("校验码"), W("动态码"), W("确认码"), W("激活码"),
	W("短信码"), W("密码"),   W("code"),   W("otp"),
};

/* What labels the digits after it as an account, card, order or case
 * number rather than something to call (账号 6222..., 运单号 7731...). */
static const struct word id_words[] = {
	W("卡号"),   W("账号"),   W("帐号"), W("账户"), W("帐户"), W("尾号"),  W("单号"),
	W("编号"),   W("工号"),   W("订单"), W("户号"), W("证号"), W("案号"),  W("学号"),
	W("流水号"), W("交易号"), W("票号"), W("批号"), W("货号"), W("序号"),  W("编码"),
	W("account"), W("acct"),  W("card"), W("order"), W("ref"),  W("awb"),  W("tracking"),
};

/* What follows an amount, a date or a count, not a phone number. */
static const struct word units[] = {
	W("元"), W("块"), W("万"), W("千"), W("百"), W("亿"), W("年"), W("月"), W("日"),
	W("号"), W("天"), W("次"), W("人"), W("个"), W("分"), W("秒"), W("时"), W("岁"),
	W("条"), W("件"), W("名"), W("位"), W("倍"), W("期"), W("%"),
};

/* Words people put between a contact token and its id, longest first. */
static const struct word filler_words[] = {
	W("号码"), W("号是"), W("同号"), W("账号"), W("帐号"), W("搜索"),
	W("号"),   W("是"),   W("为"),   W("搜"),
};
#undef W

#define CONTACT_ID_MIN 5
#define CONTACT_ID_MAX 30
#define QQ_MAX         12
#define PHONE_MIN      5
#define PHONE_MAX      15

struct scan {
	const char *t;
	size_t n;
};

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(int c)
{
	return is_digit(c) || is_alpha(c);
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int at(const struct scan *s, size_t i)
{
	return i < s->n ? (unsigned char)s->t[i] : -1;
}

/* ASCII-case-insensitive "does word (k bytes) start at i". */
static inline bool has_n(const struct scan *s, size_t i, const char *word, size_t k)
{
	if (i > s->n || k > s->n - i)
		return false;
	for (size_t j = 0; j < k; j++)
		if (lower((unsigned char)s->t[i + j]) != (unsigned char)word[j])
			return false;
	return true;
}

/* Does t[0..i) end with word (k bytes)? */
static inline bool ends_n(const struct scan *s, size_t i, const char *word, size_t k)
{
	return k <= i && has_n(s, i - k, word, k);
}

#define HAS(s, i, lit)  has_n((s), (i), (lit), sizeof(lit) - 1)
#define ENDS(s, i, lit) ends_n((s), (i), (lit), sizeof(lit) - 1)

/* str (len n, lower case) is d or a name under d. */
static bool under(const char *str, size_t n, const char *d)
{
	size_t k = strlen(d);
	if (n < k || memcmp(str + n - k, d, k) != 0)
		return false;
	return n == k || str[n - k - 1] == '.';
}

static bool under_any(const char *host, size_t n, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (list[i] && under(host, n, list[i]))
			return true;
	return false;
}

static bool part_sep(char c)
{
	return c == '.' || c == '-';
}

/* Does brand b appear in str (lower case) in a way that imitates it? */
static bool brand_in(const char *str, size_t n, const char *b)
{
	size_t k = strlen(b);
	bool digits = is_digit((unsigned char)b[0]);
	for (size_t i = 0; i + k <= n; i++) {
		if (memcmp(str + i, b, k) != 0)
			continue;
		bool start = i == 0 || part_sep(str[i - 1]);
		bool end = i + k == n || part_sep(str[i + k]);
		if (digits || (k <= 3 ? start && end : start || end))
			return true;
	}
	return false;
}

static bool lookalike(const char *host, size_t n)
{
	if (under_any(host, n, restricted, AFGW_ARRAY_SIZE(restricted)))
		return false;
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(brands); i++) {
		const struct brand *b = &brands[i];
		if (brand_in(host, n, b->name) &&
		    !under_any(host, n, b->real, AFGW_ARRAY_SIZE(b->real)))
			return true;
	}
	return false;
}

static bool any_brand(const char *str, size_t n)
{
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(brands); i++)
		if (brand_in(str, n, brands[i].name))
			return true;
	return false;
}

enum { TLD_UNKNOWN, TLD_IANA, TLD_COMMON };

static int cmp_tld(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* Which list the TLD tld (lower case, NUL-terminated, n bytes) is in. */
static int tld_kind(const char *tld, size_t n)
{
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(tlds_common); i++)
		if (strlen(tlds_common[i]) == n && memcmp(tlds_common[i], tld, n) == 0)
			return TLD_COMMON;
	if (bsearch(tld, tlds_iana, AFGW_ARRAY_SIZE(tlds_iana), sizeof(tlds_iana[0]), cmp_tld))
		return TLD_IANA;
	return TLD_UNKNOWN;
}

/* Take an item slot of a list, or count it as dropped. */
static struct afgw_extract_item *slot(struct afgw_extract *out, struct afgw_extract_item *list,
				      unsigned *count, size_t start, size_t end)
{
	if (*count >= AFGW_EXTRACT_MAX) {
		out->dropped++;
		return NULL;
	}
	struct afgw_extract_item *it = &list[(*count)++];
	it->start = start;
	it->end = end;
	it->flags = 0;
	it->value_len = 0;
	it->value[0] = '\0';
	return it;
}

/* Copy (lower-cased, truncated to AFGW_EXTRACT_VALUE_MAX) into the value. */
static void set_value(struct afgw_extract_item *it, const char *p, size_t n)
{
	if (n > AFGW_EXTRACT_VALUE_MAX)
		n = AFGW_EXTRACT_VALUE_MAX;
	for (size_t i = 0; i < n; i++)
		it->value[i] = (char)lower((unsigned char)p[i]);
	it->value[n] = '\0';
	it->value_len = n;
}

/* Characters a URL path may hold (ASCII, printable, not the ones that
 * delimit URLs in text). */
static bool path_char(int c)
{
	return c > 0x20 && c < 0x7F && c != '"' && c != '<' && c != '>' && c != '\\' &&
	       c != '^' && c != '`' && c != '{' && c != '|' && c != '}';
}

static bool host_char(int c)
{
	return is_alnum(c) || c == '-';
}

/* Port and path after a host ending at i; returns the URL's end. */
static size_t url_tail(const struct scan *s, size_t i)
{
	size_t host_end = i;
	if (at(s, i) == ':' && is_digit(at(s, i + 1))) {
		i++;
		while (is_digit(at(s, i)))
			i++;
	}
	int c = at(s, i);
	if (c == '/' || c == '?' || c == '#') {
		while (path_char(at(s, i)))
			i++;
	}
	/* Sentence punctuation after a URL belongs to the sentence. */
	while (i > host_end && s->t[i - 1] != '\0' && strchr(".,;:!?'\")]*", s->t[i - 1]))
		i--;
	return i;
}

/*
 * Host labels from i: [a-z0-9-]+ separated by single dots.  Returns the
 * end of the host (a trailing dot is not included), and the start of the
 * last label in *last, the number of labels in *labels.
 */
static size_t host_labels(const struct scan *s, size_t i, size_t *last, unsigned *labels)
{
	size_t end = i;
	*labels = 0;
	*last = i;
	while (host_char(at(s, i))) {
		size_t st = i;
		while (host_char(at(s, i)))
			i++;
		(*labels)++;
		*last = st;
		end = i;
		if (at(s, i) != '.' || !host_char(at(s, i + 1)))
			break;
		i++;
	}
	return end;
}

static void add_url(const struct scan *s, struct afgw_extract *out, size_t start, size_t end,
		    size_t hs, size_t he, size_t us, size_t ue, bool ip)
{
	struct afgw_extract_item *it = slot(out, out->urls, &out->n_urls, start, end);
	if (!it)
		return;
	set_value(it, s->t + hs, he - hs);
	/* Checks run on the whole host, lower-cased, even past the value's
	 * truncation; hosts longer than a DNS name are not real anyway. */
	char host[256];
	size_t hn = he - hs < sizeof(host) ? he - hs : sizeof(host) - 1;
	for (size_t k = 0; k < hn; k++)
		host[k] = (char)lower((unsigned char)s->t[hs + k]);
	if (ip) {
		it->flags |= AFGW_EXTRACT_F_IP_HOST;
		return;
	}
	if (under_any(host, hn, shorteners, AFGW_ARRAY_SIZE(shorteners)))
		it->flags |= AFGW_EXTRACT_F_SHORTLINK;
	if (lookalike(host, hn))
		it->flags |= AFGW_EXTRACT_F_LOOKALIKE;
	if (ue > us) {
		/* http://www.icbc.com.cn@evil.top/: the brand is in the
		 * userinfo, where it only serves to deceive. */
		char ui[256];
		size_t un = ue - us < sizeof(ui) ? ue - us : sizeof(ui) - 1;
		for (size_t k = 0; k < un; k++)
			ui[k] = (char)lower((unsigned char)s->t[us + k]);
		if (any_brand(ui, un))
			it->flags |= AFGW_EXTRACT_F_LOOKALIKE;
	}
}

/* http:// or https:// at i.  Returns the end, or 0 for no URL. */
static size_t scheme_url(const struct scan *s, size_t i, struct afgw_extract *out)
{
	size_t p;
	if (HAS(s, i, "http://"))
		p = i + 7;
	else if (HAS(s, i, "https://"))
		p = i + 8;
	else
		return 0;

	/* Authority: up to the path; userinfo ends at the last '@'. */
	size_t a = p, us = p, ue = p;
	while (path_char(at(s, a)) && at(s, a) != '/' && at(s, a) != '?' && at(s, a) != '#')
		a++;
	for (size_t k = p; k < a; k++)
		if (s->t[k] == '@') {
			ue = k;
			p = k + 1;
		}
	if (at(s, p) == '[') { /* IPv6 literal */
		size_t q = p + 1;
		while (q < a && s->t[q] != ']')
			q++;
		if (q >= a || q == p + 1)
			return 0;
		size_t end = url_tail(s, q + 1);
		add_url(s, out, i, end, p + 1, q, us, ue, true);
		return end;
	}
	size_t last;
	unsigned labels;
	size_t he = host_labels(s, p, &last, &labels);
	if (labels == 0)
		return 0;
	bool ip = true;
	for (size_t k = p; k < he; k++)
		if (!is_digit((unsigned char)s->t[k]) && s->t[k] != '.')
			ip = false;
	size_t end = url_tail(s, he);
	add_url(s, out, i, end, p, he, us, ue, ip);
	return end;
}

/* www.name.tld or name.tld (known TLD) at i.  Returns the end or 0. */
static size_t bare_url(const struct scan *s, size_t i, struct afgw_extract *out)
{
	size_t last;
	unsigned labels;
	size_t he = host_labels(s, i, &last, &labels);
	if (labels < 2)
		return 0;
	size_t tl = he - last;
	for (size_t k = last; k < he; k++)
		if (!is_alpha((unsigned char)s->t[k]))
			return 0;
	if (at(s, he) == '@' || at(s, he) == '_')
		return 0; /* an e-mail address or not a host at all */
	char tld[25];
	if (tl < 2 || tl >= sizeof(tld))
		return 0;
	for (size_t k = 0; k < tl; k++)
		tld[k] = (char)lower((unsigned char)s->t[last + k]);
	tld[tl] = '\0';
	bool www = HAS(s, i, "www.") && labels >= 3;
	int kind = tld_kind(tld, tl);
	if (!www && kind == TLD_UNKNOWN)
		return 0;
	if (labels == 2 && last - i <= 3 && is_digit(at(s, i)) &&
	    (last - i == 2 || is_digit(at(s, i + 1)))) {
		/* "1.click here", "12.today": a numbered list, unless it is a
		 * short-link host (3.cn) */
		char h[8];
		size_t hn = he - i < sizeof(h) ? he - i : sizeof(h) - 1;
		for (size_t k = 0; k < hn; k++)
			h[k] = (char)lower((unsigned char)s->t[i + k]);
		if (!under_any(h, hn, shorteners, AFGW_ARRAY_SIZE(shorteners)))
			return 0;
	}
	if (!www && kind == TLD_IANA) {
		/* A word TLD: only a name made for a machine (see tlds_iana). */
		bool made = labels >= 3 || at(s, he) == '/' ||
			    (at(s, he) == ':' && is_digit(at(s, he + 1)));
		for (size_t k = i; k < last && !made; k++)
			made = s->t[k] == '-' || is_digit((unsigned char)s->t[k]);
		if (!made)
			return 0;
	}
	size_t end = url_tail(s, he);
	add_url(s, out, i, end, i, he, i, i, false);
	return end;
}

/* Bytes of the code point at i if it is a symbol or punctuation people
 * put between a contact token and its id (❤ ☎ 📱 【 ·), else 0. */
static size_t symbol_len(const struct scan *s, size_t i)
{
	int c0 = at(s, i);
	uint32_t u;
	size_t l;
	if (c0 >= 0xC2 && c0 < 0xE0 && i + 1 < s->n) {
		u = (uint32_t)(c0 & 0x1F) << 6 | (at(s, i + 1) & 0x3Fu);
		l = 2;
	} else if (c0 >= 0xE0 && c0 < 0xF0 && i + 2 < s->n) {
		u = (uint32_t)(c0 & 0x0F) << 12 | (at(s, i + 1) & 0x3Fu) << 6 |
		    (at(s, i + 2) & 0x3Fu);
		l = 3;
	} else if (c0 >= 0xF0 && c0 < 0xF5 && i + 3 < s->n) {
		u = (uint32_t)(c0 & 0x07) << 18 | (at(s, i + 1) & 0x3Fu) << 12 |
		    (at(s, i + 2) & 0x3Fu) << 6 | (at(s, i + 3) & 0x3Fu);
		l = 4;
	} else {
		return 0;
	}
	bool sym = (u >= 0xA1 && u <= 0xBF) || (u >= 0x2010 && u <= 0x2BFF) ||
		   (u >= 0x3000 && u <= 0x303F) || u == 0xFE0E || u == 0xFE0F ||
		   (u >= 0x1F000 && u <= 0x1FAFF);
	return sym ? l : 0;
}

/*
 * Skip the filler after a contact token at p: ':' '=' '@' and spaces,
 * symbols, the filler words, and "id" before a separator.  Returns where
 * the id would start; *sep tells whether a ':' '=' '@' or a symbol was
 * among the filler.
 */
static size_t contact_filler(const struct scan *s, size_t p, bool *sep)
{
	*sep = false;
	for (int k = 0; k < 6; k++) {
		int c = at(s, p);
		size_t l;
		if (c == ':' || c == '=' || c == '@') {
			*sep = true;
			p++;
		} else if (c == ' ') {
			p++;
		} else if ((l = symbol_len(s, p)) > 0) {
			*sep = true;
			p += l;
		} else if (HAS(s, p, "id") && !is_alnum(at(s, p + 2)) && at(s, p + 2) != '_') {
			p += 2;
		} else {
			size_t w;
			for (w = 0; w < AFGW_ARRAY_SIZE(filler_words); w++)
				if (has_n(s, p, filler_words[w].w, filler_words[w].len))
					break;
			if (w == AFGW_ARRAY_SIZE(filler_words))
				break;
			p += filler_words[w].len;
		}
	}
	return p;
}

/* A contact token and its id at i, or a bare WeChat default id
 * (wxid_...).  Returns the end or 0. */
static size_t contact(const struct scan *s, size_t i, struct afgw_extract *out)
{
	/* Most positions start no token: 加 薇 威 微 徽 维 扣 企 飞 纸 电 and
	 * w v q + t s only. */
	int c = lower(at(s, i));
	if (c >= 0x80) {
		uint32_t u = i + 2 < s->n ? (uint32_t)c << 16 | (unsigned char)s->t[i + 1] << 8 |
						    (unsigned char)s->t[i + 2]
					  : 0;
		if (u != 0xE58AA0 && u != 0xE89687 && u != 0xE5A881 && u != 0xE5BEAE &&
		    u != 0xE5BEBD && u != 0xE7BBB4 && u != 0xE689A3 && u != 0xE4BC81 &&
		    u != 0xE9A39E && u != 0xE7BAB8 && u != 0xE794B5)
			return 0;
	} else if (c != 'w' && c != 'v' && c != 'q' && c != '+' && c != 't' && c != 's') {
		return 0;
	}
	if (HAS(s, i, "wxid_")) {
		size_t q = i + 5;
		while (is_alnum(at(s, q)) || at(s, q) == '_' || at(s, q) == '-')
			q++;
		if (q - i >= 8 && q - i <= CONTACT_ID_MAX) {
			struct afgw_extract_item *it =
				slot(out, out->contacts, &out->n_contacts, i, q);
			if (it) {
				set_value(it, s->t + i, q - i);
				it->flags = AFGW_EXTRACT_F_WECHAT;
			}
			return q;
		}
	}
	for (size_t t = 0; t < AFGW_ARRAY_SIZE(contact_tokens); t++) {
		const char *tok = contact_tokens[t].tok;
		size_t tl = contact_tokens[t].len;
		if ((unsigned char)tok[0] != lower(at(s, i)) || !has_n(s, i, tok, tl))
			continue;
		size_t p = i + tl;
		/* vxworks, qqmusic: a Latin token must end the word. */
		if (is_alpha((unsigned char)tok[tl - 1]) && is_alpha(at(s, p)))
			continue;
		bool sep;
		p = contact_filler(s, p, &sep);
		if (contact_tokens[t].sep && !sep)
			continue;
		size_t q = p;
		bool digits = true;
		while (is_alnum(at(s, q)) || at(s, q) == '_' || at(s, q) == '-') {
			digits = digits && is_digit(at(s, q));
			q++;
		}
		size_t len = q - p;
		if (len < CONTACT_ID_MIN || len > CONTACT_ID_MAX || !is_alnum(at(s, p)))
			continue;
		if ((at(s, q) == '.' || at(s, q) == '@') && is_alnum(at(s, q + 1)))
			continue; /* a domain or an e-mail address, not an id */
		unsigned flag = contact_tokens[t].flag;
		if (flag == AFGW_EXTRACT_F_QQ && (!digits || len > QQ_MAX))
			continue;
		struct afgw_extract_item *it = slot(out, out->contacts, &out->n_contacts, i, q);
		if (it) {
			set_value(it, s->t + p, len);
			it->flags = flag;
		}
		return q;
	}
	return 0;
}

/* Is the code point at i (after one space) one of the units? */
static bool unit_at(const struct scan *s, size_t i)
{
	if (at(s, i) == ' ')
		i++;
	for (size_t k = 0; k < AFGW_ARRAY_SIZE(units); k++)
		if (has_n(s, i, units[k].w, units[k].len))
			return true;
	return false;
}

/* Step back over the filler between a code word and its code. */
static size_t skip_back(const struct scan *s, size_t i)
{
	for (int k = 0; k < 6 && i > 0; k++) {
		if (s->t[i - 1] == ' ' || s->t[i - 1] == ':' || s->t[i - 1] == '=' ||
		    s->t[i - 1] == '#')
			i--;
		else if (ENDS(s, i, "是") || ENDS(s, i, "为"))
			i -= sizeof("是") - 1;
		else if (ENDS(s, i, " is"))
			i -= 3;
		else
			break;
	}
	return i;
}

/* 5-6 bare digits at [a, b): a one-time code rather than a number? */
static bool verification_code(const struct scan *s, size_t a, size_t b)
{
	if (b - a > 6)
		return false;
	size_t back = skip_back(s, a);
	for (size_t k = 0; k < AFGW_ARRAY_SIZE(code_words); k++)
		if (ends_n(s, back, code_words[k].w, code_words[k].len))
			return true;
	/* 123456是您的验证码, 123456 is your code, 123456(动态码): a code
	 * word within the next few characters, before any digit or stop. */
	size_t i = b;
	for (int cps = 0; cps < 12 && i < s->n; cps++) {
		int c = at(s, i);
		if (is_digit(c) || c == ',' || c == '.' || c == ';' || HAS(s, i, "。"))
			break;
		for (size_t k = 0; k < AFGW_ARRAY_SIZE(code_words); k++)
			if (has_n(s, i, code_words[k].w, code_words[k].len))
				return true;
		i++;
		while (i < s->n && ((unsigned char)s->t[i] & 0xC0) == 0x80)
			i++;
	}
	return false;
}

static size_t digit_run(const struct scan *s, size_t i)
{
	while (is_digit(at(s, i)))
		i++;
	return i;
}

/* A phone number at i.  Returns the end or 0. */
static size_t phone(const struct scan *s, size_t i, unsigned cc, struct afgw_extract *out)
{
	size_t p = i, nd = 0;
	bool plus = false, area = false;

	if (at(s, p) == '+') {
		plus = true;
		p++;
	} else if (at(s, p) == '(') { /* (0755)12345678 */
		size_t q = digit_run(s, p + 1);
		if (q - (p + 1) < 3 || q - (p + 1) > 5 || at(s, q) != ')')
			return 0;
		nd = q - (p + 1);
		p = q + 1;
		if (at(s, p) == ' ' || at(s, p) == '-')
			p++;
		area = true;
	}
	size_t q = digit_run(s, p);
	if (q == p)
		return 0;
	nd += q - p;
	if (nd > PHONE_MAX)
		return 0;
	unsigned groups = 1;
	bool bare = !plus && !area;
	bool blocks = q - p <= 6; /* every group so far short, as on a card */
	bool too_long = false;
	/* More groups: one separator, then at least three digits (or the
	 * two of an area code right after +cc), while the total allows.
	 * Short groups that run past the longest number are a card, account
	 * or tracking number written in blocks (6217 0000 1234 5678): all of
	 * it is consumed, none of it is a number. */
	for (;;) {
		int sep = at(s, q);
		if (sep != ' ' && sep != '-')
			break;
		size_t r = digit_run(s, q + 1);
		size_t g = r - (q + 1);
		if (g == 0 || (!too_long && g < 3 && !(plus && groups == 1 && g == 2)))
			break;
		blocks = blocks && g <= 6;
		if (!too_long && nd + g > PHONE_MAX) {
			if (!blocks)
				break;
			too_long = true;
		}
		nd += g;
		q = r;
		groups++;
		bare = false;
	}
	int next = at(s, q);
	if (is_alpha(next) || next == '_' || (next == '.' && is_digit(at(s, q + 1))))
		return too_long ? q : 0; /* part of a longer token, or a decimal */
	if (too_long)
		return q;
	if (nd < PHONE_MIN)
		return 0;
	if (unit_at(s, q) || ENDS(s, i, "¥") || ENDS(s, i, "$") || ENDS(s, i, "€"))
		return q; /* an amount, a date, a count: consumed, not a number */
	if (bare && verification_code(s, i, q))
		return q;
	size_t back = skip_back(s, i);
	for (size_t k = 0; k < AFGW_ARRAY_SIZE(id_words); k++) {
		const struct word *w = &id_words[k];
		if (ends_n(s, back, w->w, w->len) &&
		    !(is_alpha((unsigned char)w->w[0]) && back > w->len &&
		      is_alpha((unsigned char)s->t[back - w->len - 1])))
			return q; /* an account, card, order or case number */
	}

	struct afgw_number num;
	if (afgw_number_canon(afgw_str_make(s->t + i, q - i), AFGW_TON_NONE, cc, &num) < 0)
		return q;
	if (num.kind != AFGW_NUMBER_E164 && num.kind != AFGW_NUMBER_SERVICE &&
	    num.kind != AFGW_NUMBER_DIGITS)
		return q;
	struct afgw_extract_item *it = slot(out, out->numbers, &out->n_numbers, i, q);
	if (it)
		set_value(it, num.canon, num.len);
	return q;
}

/*
 * The scan (see the top of the file).  out is reset first; only the first
 * n_* entries of each list are meaningful.
 */
void afgw_extract_all(const char *text, size_t n, unsigned country_code, struct afgw_extract *out)
{
	struct scan s = { text, n };

	out->n_urls = out->n_contacts = out->n_numbers = 0;
	out->dropped = 0;
	if (!text)
		return;

	for (size_t i = 0; i < n;) {
		int c = (unsigned char)text[i];
		int prev = i ? (unsigned char)text[i - 1] : -1;
		size_t end = 0;
		bool boundary = !is_alnum(prev) && prev != '_';

		if (boundary && is_alnum(c) && prev != '.' && prev != '@' && prev != '-') {
			end = scheme_url(&s, i, out);
			if (!end)
				end = bare_url(&s, i, out);
		}
		if (!end && (c >= 0x80 || (boundary && (is_alpha(c) || c == '+'))))
			end = contact(&s, i, out);
		if (!end && boundary && prev != '.' && prev != '+' &&
		    (is_digit(c) || c == '+' || c == '('))
			end = phone(&s, i, country_code, out);
		if (end > i) {
			i = end;
			continue;
		}
		/* Next code point (or byte, in broken UTF-8). */
		i++;
		while (i < n && ((unsigned char)text[i] & 0xC0) == 0x80)
			i++;
	}
}

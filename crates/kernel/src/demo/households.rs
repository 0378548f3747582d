//! The hand-written households: the 60 people every demo town starts with, the demo logins among them.

/// Which contact details a person gave; many give only their name.
#[derive(Clone, Copy)]
pub(super) enum Contact {
    Name,
    Phone,
    Email,
    Both,
}

#[derive(Clone, Copy)]
pub(super) struct FixedPerson {
    pub(super) given: &'static str,
    pub(super) kana: &'static str,
    pub(super) birth: &'static str,
    pub(super) relation: &'static str,
    pub(super) contact: Contact,
    pub(super) needs_support: bool,
    pub(super) login: Option<&'static str>,
}

pub(super) const fn fp(
    given: &'static str,
    kana: &'static str,
    birth: &'static str,
    relation: &'static str,
    contact: Contact,
) -> FixedPerson {
    FixedPerson {
        given,
        kana,
        birth,
        relation,
        contact,
        needs_support: false,
        login: None,
    }
}

impl FixedPerson {
    pub(super) const fn login(self, login: &'static str) -> Self {
        Self {
            login: Some(login),
            ..self
        }
    }

    pub(super) const fn support(self) -> Self {
        Self {
            needs_support: true,
            ..self
        }
    }
}

pub(super) struct FixedHousehold {
    pub(super) surname: &'static str,
    pub(super) kana: &'static str,
    /// Index into the chome list (0..8).
    pub(super) chome: usize,
    /// Block and lot, appended to the chome name.
    pub(super) lot: &'static str,
    /// The first member is the representative.
    pub(super) members: &'static [FixedPerson],
}

use Contact::{Both, Email, Name, Phone};

pub(super) const FIXED_HOUSEHOLDS: &[FixedHousehold] = &[
    // みどり町一丁目
    FixedHousehold {
        surname: "田中",
        kana: "タナカ",
        chome: 0,
        lot: "3-12",
        members: &[fp("ハナ", "ハナ", "1938-04-12", "本人", Phone)
            .login("tanaka")
            .support()],
    },
    FixedHousehold {
        surname: "井上",
        kana: "イノウエ",
        chome: 0,
        lot: "1-5",
        members: &[
            fp("勇", "イサム", "1960-09-03", "本人", Both).login("shop"),
            fp("和子", "カズコ", "1962-02-17", "配偶者", Phone),
        ],
    },
    FixedHousehold {
        surname: "高橋",
        kana: "タカハシ",
        chome: 0,
        lot: "4-2",
        members: &[fp("正雄", "マサオ", "1942-11-30", "本人", Phone).support()],
    },
    FixedHousehold {
        surname: "吉田",
        kana: "ヨシダ",
        chome: 0,
        lot: "6-8",
        members: &[
            fp("彩", "アヤ", "1988-06-21", "本人", Both).login("kosodate"),
            fp("拓也", "タクヤ", "1987-01-09", "配偶者", Phone),
            fp("陽菜", "ヒナ", "2020-05-14", "子", Name),
            fp("蓮", "レン", "2023-08-02", "子", Name),
        ],
    },
    // みどり町二丁目
    FixedHousehold {
        surname: "鈴木",
        kana: "スズキ",
        chome: 1,
        lot: "2-7",
        members: &[
            fp("茂", "シゲル", "1952-03-25", "本人", Both).login("kaicho"),
            fp("幸子", "サチコ", "1954-07-08", "配偶者", Name),
        ],
    },
    FixedHousehold {
        surname: "森",
        kana: "モリ",
        chome: 1,
        lot: "5-1",
        members: &[fp("千代", "チヨ", "1936-12-01", "本人", Name).support()],
    },
    FixedHousehold {
        surname: "清水",
        kana: "シミズ",
        chome: 1,
        lot: "8-15",
        members: &[
            fp("浩二", "コウジ", "1978-10-11", "本人", Email),
            fp("美穂", "ミホ", "1980-04-04", "配偶者", Phone),
            fp("結衣", "ユイ", "2019-09-19", "子", Name),
            fp("悠真", "ユウマ", "2022-02-28", "子", Name),
        ],
    },
    // みどり町三丁目
    FixedHousehold {
        surname: "小林",
        kana: "コバヤシ",
        chome: 2,
        lot: "1-20",
        members: &[
            fp("誠", "マコト", "1982-05-30", "本人", Both).login("bousai"),
            fp("由香", "ユカ", "1984-08-16", "配偶者", Name),
            fp("颯太", "ソウタ", "2021-11-03", "子", Name),
        ],
    },
    FixedHousehold {
        surname: "石井",
        kana: "イシイ",
        chome: 2,
        lot: "3-4",
        members: &[fp("トシ", "トシ", "1941-01-23", "本人", Phone).support()],
    },
    FixedHousehold {
        surname: "前田",
        kana: "マエダ",
        chome: 2,
        lot: "7-9",
        members: &[
            fp("隆", "タカシ", "1948-06-06", "本人", Phone),
            fp("節子", "セツコ", "1950-10-27", "配偶者", Name),
        ],
    },
    // 本町一丁目
    FixedHousehold {
        surname: "山本",
        kana: "ヤマモト",
        chome: 3,
        lot: "2-3",
        members: &[
            fp("健一", "ケンイチ", "1975-02-14", "本人", Both).login("admin"),
            fp("智子", "トモコ", "1977-12-12", "配偶者", Email),
            fp("大翔", "ヒロト", "2008-07-07", "子", Name),
        ],
    },
    FixedHousehold {
        surname: "中村",
        kana: "ナカムラ",
        chome: 3,
        lot: "4-11",
        members: &[
            fp("恵子", "ケイコ", "1972-03-03", "本人", Both).login("caremgr"),
            fp("敏夫", "トシオ", "1944-09-15", "親", Name),
        ],
    },
    FixedHousehold {
        surname: "岡田",
        kana: "オカダ",
        chome: 3,
        lot: "6-6",
        members: &[fp("ミツ", "ミツ", "1939-05-05", "本人", Phone).support()],
    },
    FixedHousehold {
        surname: "藤田",
        kana: "フジタ",
        chome: 3,
        lot: "9-2",
        members: &[
            fp("翼", "ツバサ", "1992-04-18", "本人", Email),
            fp("沙織", "サオリ", "1993-11-22", "配偶者", Both),
            fp("芽依", "メイ", "2024-01-10", "子", Name),
        ],
    },
    // 本町二丁目
    FixedHousehold {
        surname: "佐藤",
        kana: "サトウ",
        chome: 4,
        lot: "1-8",
        // 由美 is 田中 ハナ's daughter; she married and lives in her own household.
        members: &[
            fp("由美", "ユミ", "1966-08-20", "本人", Both).login("sato"),
            fp("浩", "ヒロシ", "1964-01-31", "配偶者", Phone),
            fp("健太", "ケンタ", "1996-06-13", "子", Email),
        ],
    },
    FixedHousehold {
        surname: "松本",
        kana: "マツモト",
        chome: 4,
        lot: "3-17",
        members: &[fp("玲子", "レイコ", "1970-10-02", "本人", Both).login("auditor")],
    },
    FixedHousehold {
        surname: "長谷川",
        kana: "ハセガワ",
        chome: 4,
        lot: "5-3",
        members: &[fp("勝", "マサル", "1945-04-29", "本人", Name)],
    },
    FixedHousehold {
        surname: "村上",
        kana: "ムラカミ",
        chome: 4,
        lot: "7-10",
        members: &[
            fp("直人", "ナオト", "1983-09-09", "本人", Phone),
            fp("愛", "アイ", "1985-03-16", "配偶者", Email),
            fp("湊", "ミナト", "2019-12-24", "子", Name),
            fp("凛", "リン", "2021-06-01", "子", Name),
        ],
    },
    // 本町三丁目
    FixedHousehold {
        surname: "渡辺",
        kana: "ワタナベ",
        chome: 5,
        lot: "2-14",
        members: &[
            fp("直樹", "ナオキ", "1980-07-25", "本人", Both).login("medic"),
            fp("さくら", "サクラ", "1982-04-01", "配偶者", Phone),
            fp("葵", "アオイ", "2020-10-10", "子", Name),
        ],
    },
    FixedHousehold {
        surname: "伊藤",
        kana: "イトウ",
        chome: 5,
        lot: "4-6",
        members: &[fp("翔太", "ショウタ", "1995-02-02", "本人", Both).login("supporter")],
    },
    FixedHousehold {
        surname: "近藤",
        kana: "コンドウ",
        chome: 5,
        lot: "8-1",
        members: &[fp("房子", "フサコ", "1937-08-08", "本人", Name).support()],
    },
    // 南町一丁目
    FixedHousehold {
        surname: "加藤",
        kana: "カトウ",
        chome: 6,
        lot: "1-1",
        members: &[
            fp("真理子", "マリコ", "1979-11-11", "本人", Both).login("fukushi"),
            fp("剛", "ツヨシ", "1976-05-19", "配偶者", Name),
            fp("美咲", "ミサキ", "2010-03-27", "子", Name),
            fp("陸", "リク", "2013-09-30", "子", Name),
        ],
    },
    FixedHousehold {
        surname: "山田",
        kana: "ヤマダ",
        chome: 6,
        lot: "3-9",
        members: &[
            fp("大輔", "ダイスケ", "1985-12-05", "本人", Both).login("doro"),
            fp("優子", "ユウコ", "1986-02-20", "配偶者", Phone),
            fp("樹", "イツキ", "2022-07-17", "子", Name),
        ],
    },
    FixedHousehold {
        surname: "坂本",
        kana: "サカモト",
        chome: 6,
        lot: "5-13",
        members: &[
            fp("清", "キヨシ", "1940-06-10", "本人", Phone),
            fp("キヨ", "キヨ", "1943-01-15", "配偶者", Name).support(),
        ],
    },
    // 南町二丁目
    FixedHousehold {
        surname: "佐々木",
        kana: "ササキ",
        chome: 7,
        lot: "2-5",
        members: &[fp("陽子", "ヨウコ", "1990-09-26", "本人", Both).login("kyodo")],
    },
    FixedHousehold {
        surname: "木村",
        kana: "キムラ",
        chome: 7,
        lot: "4-18",
        members: &[fp("修", "オサム", "1950-02-08", "本人", Phone)],
    },
    FixedHousehold {
        surname: "林",
        kana: "ハヤシ",
        chome: 7,
        lot: "6-2",
        members: &[
            fp("健", "ケン", "1973-08-31", "本人", Phone),
            fp("典子", "ノリコ", "1974-12-03", "配偶者", Email),
            fp("花音", "カノン", "2005-04-23", "子", Email),
            fp("正一", "ショウイチ", "1946-03-12", "親", Name),
        ],
    },
    FixedHousehold {
        surname: "西村",
        kana: "ニシムラ",
        chome: 7,
        lot: "9-7",
        members: &[fp("康介", "コウスケ", "1998-05-15", "本人", Email)],
    },
];

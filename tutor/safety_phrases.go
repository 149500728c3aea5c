package tutor

import "regexp"

// The phrase tables. Patterns run over normalize(text): lower case, straight
// quotes, single spaces. Order matters: the first refusing rule wins, so
// self-harm comes before violence ("kill myself" is not a threat to others).
// Hate-speech rules match phrases of intent and generalisation, not slurs; a
// maintained slur list can be added as another rule.

const (
	objPhone   = `(?:phone|cell|cell phone|mobile|telephone) (?:number|no|#)`
	objPrivate = `(?:home address|street address|address|` + objPhone + `|e-?mail(?: address)?|password|passcode|` +
		`last name|surname|full name|real name)`
	social = `(?:snap|snapchat|insta|instagram|ig|tiktok|discord|whatsapp|telegram|kik|roblox|fortnite|xbox|psn|` +
		`steam|twitter|facebook|fb|twitch|youtube)`
	harmVerb   = `(?:kill|murder|hurt|poison|stab|shoot|strangle|beat up|attack)`
	harmTarget = `(?:someone|somebody|a person|people|him|her|them|everyone|everybody|` +
		`my (?:mom|mum|dad|brother|sister|teacher|friend|classmate|parents|family|neighbou?r)|` +
		`a (?:kid|teacher|classmate|student|person|child)|the (?:teacher|kids|students|class|school))`
	harmIntent = `(?:how (?:do|can|could|would|should|to)(?: i| you| u| we| one)?|i (?:want|wanna|need|am going|'m going|'m gonna|am gonna|will|plan) to|help me|ways to|best way to|i'?m going to|i'?ll)`
	drugName   = `(?:weed|marijuana|cannabis|cocaine|meth|crack cocaine|heroin|lsd|molly|mdma|ecstasy|shrooms|` +
		`ketamine|xanax|fentanyl|oxy|oxycodone|vapes?|a vape|edibles|drugs)`
	drinkName = `(?:alcohol|beer|liquor|vodka|whiskey|booze)`
	hateGroup = `(?:(?:black|white|asian|hispanic|latino|mexican|jewish|muslim|christian|arab|gay|lesbian|trans|` +
		`transgender|disabled|indian|chinese) (?:people|folks|kids|persons)|jews|muslims|christians|arabs|gays|` +
		`lesbians|immigrants|mexicans|blacks|whites|asians|women|girls|boys)`
	weaponMake = `(?:make|build|buy|get|assemble) (?:a |an )?(?:bomb|pipe bomb|explosive|explosives|gun|firearm|molotov|nail bomb)`
)

var (
	reEmail  = regexp.MustCompile(`(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b`)
	rePhone  = regexp.MustCompile(`(?:\+?\b1[ .-]?)?(?:\(\d{3}\)|\b\d{3})[ .-]?\d{3}[ .-]\d{4}\b|\+\d{1,3}[ .-]?\d{2,4}[ .-]\d{3,4}[ .-]?\d{3,4}\b`)
	reStreet = phrases(`\d{1,5} (?:[a-z'.-]+ ){1,3}(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|way|place|terrace|crescent)`)
	// A street number followed by common words of a word problem is not an address.
	notStreet = phrases(`the`, `a`, `an`, `of`, `down`, `up`, `along`, `on`, `to`, `in`, `into`, `across`,
		`miles?`, `km`, `kilometers?`, `kilometres?`, `meters?`, `metres?`, `feet`, `cars?`, `blocks?`, `steps?`, `minutes?`, `hours?`)
	// "I go to Lincoln Middle School" names a school; "I go to middle school" does not.
	schoolNamed = phrases(`(?:i|we) (?:go to|attend|am at|'m at) (?:[a-z'.-]+ ){1,4}(?:school|academy|elementary|high|middle|college)`)
	schoolPlain = regexp.MustCompile(`(?i)\b(?:i|we) (?:go to|attend|am at|'m at) (?:(?:a|the|my|our|public|private|middle|high|elementary|primary|secondary|summer|home|online|boarding|charter|art|music|sunday|junior|senior|catholic|language|dance|coding|new|big|small|this|that|another|one|same|grade|to) )*(?:school|academy|elementary|high|middle|college)\b`)
)

// personalInfo finds a student or the model asking for or sharing private details.
var personalInfo = []rule{
	{re: reEmail, reason: "an email address"},
	{re: rePhone, reason: "a phone number"},
	{re: reStreet, unless: notStreet, reason: "a street address"},
	{re: phrases(`(?:what'?s|what is|what are|tell me|give me|send me|share|can i have|can i get|may i have) (?:your|ur) `+objPrivate+`s?`,
		`where do (?:you|u) live`, `where (?:do|does) (?:your|ur) (?:family|parents) live`),
		reason: "asks for personal details"},
	{re: phrases(`(?:my|our) (?:home |street |house |school )?`+objPrivate+` ?(?:is|was|=|:)`,
		`i live (?:at|on) \d+`, `(?:my|our) school'?s? (?:is )?(?:called|named)`),
		reason: "shares personal details"},
	{re: schoolNamed, unless: schoolPlain, reason: "names a school"},
	{re: phrases(`(?:what|which) school do (?:you|u) (?:go to|attend)`, `where do (?:you|u) go to school`,
		`what'?s (?:the name of )?(?:your|ur) school`),
		reason: "asks which school someone goes to"},
}

// contact finds attempts to move the conversation off Optio or into the real world.
var contact = []rule{
	{re: phrases(`add me (?:on|at|as a friend)`, `(?:follow|dm|message|text|call|friend|find|snap) me (?:on|at)`, `dm me`,
		`(?:my|your|ur) `+social+`(?: account| username| user name| handle| name| id| tag| code)? ?(?:is|:)`,
		`what'?s (?:your|ur) (?:`+social+`|username|user name|handle|gamertag)`),
		reason: "asks to connect on another app"},
	{re: phrases(`(?:let'?s|can we|could we|wanna|want to|we should|we could|should we|i want to) meet (?:up|in person|irl|in real life|somewhere|after school|before school|tomorrow|today|tonight|this weekend|at (?:my|your|the) [a-z]+)`,
		`meet (?:me|you) (?:at|in|after|before|outside|irl|in person|tonight|tomorrow|today|somewhere)`,
		`meet (?:up )?(?:in person|irl|in real life)`, `hang ?out (?:in person|irl|after school)`),
		reason: "suggests meeting in person"},
}

var inputRules = concat(
	// Self-harm first, for every band, always flagged.
	tag(CategorySelfHarm, bAll, bAll, false,
		rule{re: phrases(`(?:kill|killing|hurt|hurting|cut|cutting|harm|harming|unalive|unaliving|end|ending) (?:myself|my self|my own life|my life)`,
			`(?:want|wanna|going|gonna|thinking about|think about|plan|planning|wish i could|ready) (?:to )?(?:die|end it|end it all|kill myself|commit suicide|not wake up)`,
			`i (?:don'?t|do not) want to (?:live|be alive|exist|be here anymore|wake up)`,
			`(?:no reason|nothing) to live(?: for)?`, `better off (?:dead|without me)`,
			`(?:i'?m|i am|feel|feeling) suicidal`, `self[- ]?harm(?:ing)?`, `take my (?:own )?life`, `wish i (?:was|were) dead`),
			reason: "talks about hurting themselves"},
		rule{re: phrases(`suicide`, `suicidal`, `overdose`), bands: bUnder13, reason: "mentions suicide"},
	),
	tag(CategoryPersonalInfo, bAll, bMinors, false, personalInfo...),
	tag(CategoryContact, bAll, bMinors, false, contact...),
	tag(CategorySexual, bAll, bMinors, false,
		rule{re: phrases(`porn\w*`, `pornograph\w*`, `hentai`, `nsfw`, `nudes`, `send nudes`,
			`naked (?:pics?|photos?|pictures?|selfies?)`, `send (?:me )?(?:a )?(?:pic|pics|photo|photos|picture|pictures|selfie|selfies) of (?:you|yourself|ur)`,
			`sext(?:ing|ed|s)?`, `onlyfans`, `(?:have|having|had) sex`, `sex (?:with|tips|positions)`, `blow ?jobs?`,
			`orgasm\w*`, `masturbat\w*`, `erotic\w*`, `xxx`),
			reason: "sexual content"},
		rule{re: phrases(`sex`, `sexy`, `sexual(?:ly)?`, `sexuality`, `nude`, `naked`, `boobs?`),
			unless: phrases(`sex(?:ual)? (?:cells?|reproduction|organs?|chromosomes?|determination)`, `(?:a)?sexual reproduction`),
			bands:  bUnder13, reason: "sexual content"},
	),
	tag(CategoryViolence, bAll, bMinors, false,
		rule{re: phrases(harmIntent+` `+harmVerb+` `+harmTarget, `i (?:want|wanna|am going|'m going|'m gonna) to `+harmVerb+` `+harmTarget),
			reason: "talks about hurting someone"},
		rule{re: phrases(`(?:how (?:do|can|to)(?: i| you| u)?|help me|ways to|i want to|i wanna) `+weaponMake,
			`school shooting`, `shoot up (?:the|my|a) school`, `(?:bring|take) a (?:gun|knife|weapon) to school`),
			reason: "asks about weapons or attacks"},
		rule{re: phrases(`murder(?:ed|s|ing|er|ers)?`, `gore`, `gory`, `behead(?:ed|ing)?`, `decapitat\w*`, `tortur(?:e|ed|es|ing)`,
			`massacres?`, `dismember\w*`, `bloodbath`, `stab(?:bed|bing)?`, `shoot (?:him|her|them|people|someone)`),
			bands: bUnder13, flag: bNever, reason: "graphic violence"},
	),
	tag(CategoryDrugs, bAll, bMinors, false,
		rule{re: phrases(`(?:how (?:to|do i|can i|do you|do u)|where (?:to|can i|do i)|help me|i want to|i wanna|i need to) (?:buy|get|make|cook|grow|smoke|vape|snort|inject|try|score|hide) (?:some )?(?:`+drugName+`|`+drinkName+`)`,
			`get(?:ting)? (?:high|drunk|stoned|wasted|baked)`, `(?:buy|get|make) (?:a )?fake id`),
			reason: "asks how to get or use drugs or alcohol"},
		rule{re: phrases(`weed`, `marijuana`, `cannabis`, `cocaine`, `heroin`, `meth`, `vap(?:e|es|ing)`, `beer`, `vodka`, `whiskey`, `liquor`, `edibles`),
			bands: bUnder13, flag: bNever, reason: "drugs or alcohol"},
	),
	tag(CategoryHate, bAll, bMinors, false,
		rule{re: phrases(`(?:i hate|kill all|kill the|death to|get rid of(?: all)?|gas the|deport all) (?:the |all )?`+hateGroup,
			hateGroup+` (?:are|r) (?:all )?(?:stupid|dumb|evil|inferior|animals|subhuman|disgusting|trash|vermin|a disease)`,
			`heil hitler`, `sieg heil`, `white power`),
			reason: "hateful words about a group"},
	),
	tag(CategoryJailbreak, bAll, 0, false,
		rule{re: phrases(`ignore (?:all )?(?:of )?(?:your |the |my |these )?(?:previous |prior |above |earlier |system )?(?:instructions|rules|prompts?)`,
			`(?:you are|you're) now (?:dan|in developer mode|unfiltered|jailbroken|evil)`, `developer mode`, `jailbreak\w*`,
			`pretend (?:you have|there are|you've got) no (?:rules|filters|restrictions|limits)`,
			`(?:reveal|show|print|repeat) (?:me )?(?:your|the) (?:system )?(?:prompt|instructions)`),
			reason: "tries to switch off the tutor's rules"},
	),
	// Allowed, but a parent should know.
	tag(CategoryBullying, bAll, bMinors, true,
		rule{re: phrases(`(?:i'?m|i am|i'?ve been|i have been|i get|i keep getting|getting|being) (?:being )?(?:bullied|picked on|harassed|cyberbullied)`,
			`(?:they|kids|people|someone|everyone|he|she|my classmates) (?:keeps? |always )?(?:bull(?:y|ies|ying|ied)|picks? on|picking on|making fun of|makes? fun of) me`),
			reason: "says they are being bullied"},
	),
)

var outputRules = concat(
	tag(CategorySelfHarm, bAll, bAll, false,
		rule{re: phrases(`(?:ways|how|steps) to (?:kill|hurt|cut|harm|poison) (?:yourself|urself)`,
			`(?:kill|hurt|cut|harm|poison)(?:ing)? (?:yourself|urself) (?:by|with|using)`, `lethal dose`, `overdose on`),
			reason: "describes self-harm methods"},
	),
	tag(CategoryPersonalInfo, bAll, bMinors, false, personalInfo...),
	tag(CategoryContact, bAll, bMinors, false, contact...),
	tag(CategorySexual, bAll, bMinors, false,
		rule{re: phrases(`porn\w*`, `pornograph\w*`, `hentai`, `nudes`, `naked (?:pics?|photos?|pictures?|selfies?)`,
			`send (?:me )?(?:a )?(?:pic|pics|photo|photos|picture|pictures|selfie|selfies) of (?:you|yourself|ur)`,
			`sext(?:ing|ed|s)?`, `onlyfans`, `sex (?:tips|positions)`, `blow ?jobs?`, `orgasm\w*`, `masturbat\w*`, `erotic\w*`),
			reason: "sexual content"},
		rule{re: phrases(`sexy`, `(?:have|having|had) sex`, `nude`, `naked`),
			bands: bUnder13, reason: "sexual content"},
	),
	tag(CategoryViolence, bAll, bMinors, false,
		rule{re: phrases(`(?:how to|steps to|you can|to|here'?s how to) `+weaponMake, `(?:how to|steps to|you can|here'?s how to) `+harmVerb+` `+harmTarget),
			reason: "instructions for violence"},
		rule{re: phrases(`gore`, `gory`, `behead(?:ed|ing)?`, `decapitat\w*`, `dismember\w*`, `bloodbath`),
			bands: bUnder13, reason: "graphic violence"},
	),
	tag(CategoryDrugs, bAll, bMinors, false,
		rule{re: phrases(`(?:how to|steps to|you can|here'?s how to) (?:make|cook|grow|buy|get) (?:`+drugName+`|`+drinkName+`)`,
			`fake id`),
			reason: "instructions for drugs or alcohol"},
	),
	tag(CategoryHate, bAll, bMinors, false,
		rule{re: phrases(hateGroup+` (?:are|r) (?:all )?(?:stupid|dumb|evil|inferior|animals|subhuman|disgusting|trash|vermin|a disease)`,
			`heil hitler`, `sieg heil`, `white power`),
			reason: "hateful words about a group"},
	),
)

// tag fills the category and default bands of rows that leave them unset.
func tag(category string, in, flag bands, allow bool, rows ...rule) []rule {
	out := make([]rule, len(rows))
	for i, r := range rows {
		r.category, r.allow = category, allow
		if r.bands == 0 {
			r.bands = in
		}
		if r.flag == 0 {
			r.flag = flag
		}
		out[i] = r
	}
	return out
}

func concat(groups ...[]rule) []rule {
	var out []rule
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

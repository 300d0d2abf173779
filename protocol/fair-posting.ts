/**
 * Fair posting: the check the composer (web/components/pl-compose.ts) and `porchlight post`
 * (node/cli/network.ts) run before a crime, safety or suspicious-activity post is sent.
 * After Nextdoor's 2016 flow, which cut racial-profiling posts by about 75%:
 *
 *   - a post that describes a person by appearance, or calls a person suspicious, must say what
 *     the person did (or what happened: "missing", "fell" count too); a "suspicious person"
 *     post with no action is held;
 *   - a post that mentions race or ethnicity must also give at least MIN_DESCRIPTORS other
 *     details: clothing, hair, height, build, vehicle, or features such as a tattoo.
 *
 * What counts as race: an ethnicity, nationality or religion word ('hispanic', 'asian',
 * 'somali', 'muslim'…) or a colour word ('black', 'white', 'brown') only where it is said of a
 * person: before a person noun ("black man", "tall white guys", "hispanic-looking male"),
 * after one as its predicate ("he was black"), as a noun for people ("two whites", "an
 * asian in a hoodie"), or as skin ("dark-skinned", "light complexion"). So "black hoodie",
 * "white van", "Mr. White's garage", "black-haired woman" and "Chinese restaurant" are not race.
 *
 * Limits, also said to people in FAIR_POSTING_LIMITS: it is an English word list and a few
 * patterns over a sentence, with no grammar. It misses words it does not list (and slurs,
 * which it deliberately does not), misspellings and other languages; it cannot tell who did
 * what ("a man near the car that was broken into" has an action); a vehicle or coat in the
 * sentence may not be the person's; it cannot judge intent. It runs in the sender's app:
 * relays cannot read private posts, and a modified app can skip it.
 *
 * Pure and deterministic; reads at most MAX_TEXT_BYTES UTF-16 code units of text (the whole
 * text of any valid post), in time linear in that; never throws.
 */
import { MAX_TEXT_BYTES, type PostKind } from './post.ts'

/** The kinds the check applies to; other kinds always pass. */
export const FAIR_POSTING_KINDS: readonly PostKind[] = ['crime', 'safety', 'suspicious']
/** Details besides race a post must give when it mentions race or ethnicity. */
export const MIN_DESCRIPTORS = 2

export type FairMissing = 'action' | 'descriptors'
export type DescriptorCategory = 'clothing' | 'hair' | 'height' | 'build' | 'vehicle' | 'features'

export type FairVerdict =
  | { ok: true }
  | {
    ok: false
    /** 'action' first when both are missing: the composer asks what the person did first. */
    missing: FairMissing[]
    /** The details found ("hoodie", "5'10"), whether or not they were enough. */
    descriptorsFound: string[]
    /** Short and plain, for the person writing: why, and what to add. */
    explanation: string
  }

/** What the check read in a text; exported for tests and for explaining a verdict. */
export interface FairReading {
  /** A person is mentioned (a person noun or pronoun, or race said of someone). */
  person: boolean
  /** The person is called suspicious (or the post's kind says so). */
  suspicious: boolean
  /** The race or ethnicity words found, as written (lowercase). */
  race: string[]
  /** The action or event words found. */
  actions: string[]
  /** Distinct details found, with their category. */
  descriptors: Array<{ term: string, category: DescriptorCategory }>
}

export interface FairInput { kind: PostKind | string, text: string }

/** The check's limits, said plainly; the composer's help and `porchlight help post` show it. */
export const FAIR_POSTING_LIMITS =
  'Fair posting: for crime, safety and suspicious-activity posts that describe a person, Porchlight asks what the person did, ' +
  `and when race or ethnicity is mentioned, for at least ${MIN_DESCRIPTORS} other details (clothing, hair, height, build, vehicle). ` +
  'It is an English word list run in your app, not a judge: it can miss words, misspellings and slurs, it cannot tell who did what ' +
  'in a sentence, and it cannot judge intent. Whether a post is fair is still up to you.'

const WHY_ACTION = 'Say what the person did: being somewhere, or how someone looks, is not a reason to alert the neighbors.'
const WHY_RACE = 'Race alone puts every neighbor who looks alike under suspicion and does not help anyone find the person.'
const DESCRIPTOR_LIST = 'clothing, hair, height, build, vehicle'

/** Checks one post; see the module comment. */
export function checkFairPosting (input: FairInput): FairVerdict {
  const kind = typeof input?.kind === 'string' ? input.kind : ''
  if (!(FAIR_POSTING_KINDS as readonly string[]).includes(kind)) return { ok: true }
  const r = readPost(typeof input.text === 'string' ? input.text : '', kind === 'suspicious')
  if (!r.person) return { ok: true }
  const described = r.race.length > 0 || r.descriptors.length > 0
  const missing: FairMissing[] = []
  if ((described || r.suspicious) && r.actions.length === 0) missing.push('action')
  if (r.race.length > 0 && r.descriptors.length < MIN_DESCRIPTORS) missing.push('descriptors')
  if (missing.length === 0) return { ok: true }
  const found = r.descriptors.map(d => d.term)
  return { ok: false, missing, descriptorsFound: found, explanation: explain(missing, found) }
}

function explain (missing: readonly FairMissing[], found: readonly string[]): string {
  const parts: string[] = []
  if (missing.includes('action')) parts.push(WHY_ACTION)
  if (missing.includes('descriptors')) {
    parts.push(`You mention race or ethnicity: add at least ${MIN_DESCRIPTORS} other details (${DESCRIPTOR_LIST})` +
      `${found.length > 0 ? `; so far: ${found.join(', ')}` : ''}. ${WHY_RACE}`)
  }
  return parts.join(' ')
}

/** What a held post lacks, in words: "what the person did; 2 more details (clothing, …)". */
export function missingWords (verdict: FairVerdict): string {
  if (verdict.ok) return ''
  return verdict.missing.map(m => {
    if (m === 'action') return 'what the person did'
    const n = Math.max(1, MIN_DESCRIPTORS - verdict.descriptorsFound.length)
    return `${n} more detail${n === 1 ? '' : 's'} (${DESCRIPTOR_LIST})`
  }).join('; ')
}

// ------------------------------------------------------------------ word lists

const set = (words: string): ReadonlySet<string> => new Set(words.trim().split(/\s+/))

/** Pronouns: a person is mentioned, but no race word describes a pronoun ("white and he ran"). */
const PRONOUNS = set('he she him her himself herself')
const PERSON_NOUNS = set(`
  man men woman women guy guys gentleman gentlemen lady ladies boy boys girl girls teen teens teenager teenagers
  kid kids child children youth youths juvenile juveniles male males female females person persons people individual
  individuals someone somebody suspect suspects stranger strangers dude dudes fellow folks adult adults thief thieves
  burglar burglars robber robbers intruder intruders prowler prowlers trespasser trespassers perp perps driver drivers
  passenger passengers rider riders pedestrian pedestrians neighbor neighbors neighbour neighbours salesman salesmen
  solicitor solicitors foreigner foreigners`)
const PERSON = new Set([...PERSON_NOUNS, ...PRONOUNS])
/** Words that can stand between a race word and the person noun it describes ("black young man"). */
const PERSON_ADJ = set(`
  young younger old older elderly middle-aged teenage teenaged adult tall short thin skinny heavy heavyset heavy-set big
  large small little stocky slim muscular husky chubby fat overweight petite lanky looking suspicious sketchy shady
  creepy strange unknown and or`)
const COLOUR_RACE = set('black white brown')
const ETHNIC = set(`
  african-american afro-american african hispanic latino latina latinx latine asian south-asian east-asian caucasian
  arab arabic middle-eastern native-american indigenous aboriginal mexican chinese japanese korean vietnamese filipino
  filipina indian pakistani somali ethiopian eritrean nigerian haitian jamaican puerto-rican dominican cuban salvadoran
  guatemalan honduran romani gypsy eastern-european jewish muslim sikh biracial bi-racial mixed-race ethnic foreign
  pacific-islander`)
/** Race words used as nouns for people: a person, and race, wherever they stand. */
const RACE_PLURALS = set(`
  blacks whites hispanics latinos latinas asians caucasians arabs mexicans africans somalis gypsies pakistanis
  muslims sikhs foreigner foreigners african-americans`)
const RACE_CONTEXT = set('descent decent origin background appearance heritage ethnicity')
const SKIN = set('skin skinned complexion complexioned skin-tone')
const SKIN_TONE = set('black white brown dark light fair olive pale tan')
const RACE_SHORTHAND = set('b/m w/m h/m b/f w/f h/f poc bipoc')
const DETERMINER = set('a an one two three four five several some few couple of the')
const COPULA = set(`is was were are 's looked looks looking appeared appears seemed seems`)
const HEDGE = set('very possibly probably maybe likely like mostly definitely either kind sort of')
const SUBJECT = new Set([...PERSON, 'they', 'who'])
const PUNCT = set(`. , ; : ! ? ( ) "`)
/** What may follow a word used as a noun ("an asian in a hoodie", "he was white, about 30"). */
const BOUNDARY = new Set([...PUNCT, 'and', 'or', 'with', 'in', 'on', 'at', 'near', 'by', 'wearing', 'who', 'was', 'is',
  'were', 'are', 'walking', 'driving', 'male', 'female', 'guy', 'man', 'woman', 'maybe', 'about', 'around', 'approx'])

const COLOURS = set(`
  black white grey gray brown red blue green yellow orange purple pink dark light navy tan beige silver gold maroon
  khaki camo burgundy teal`)
const CLOTHING = set(`
  hoodie hoody hooded sweatshirt jacket coat raincoat parka windbreaker vest cap hat beanie shirt t-shirt tshirt tee
  polo sweater jumper cardigan jeans pants trousers shorts sweatpants leggings skirt dress uniform overalls tracksuit
  scarf bandana balaclava mask masked glove gloves shoe shoes sneakers trainers boots sandals backpack hi-vis high-vis
  apron hijab turban`)
const HAIR = set(`
  hair bald balding beard bearded moustache mustache goatee stubble dreadlocks dreads locs braids braided cornrows afro
  ponytail mohawk buzzcut buzz-cut crew-cut shaved-head blond blonde brunette redhead curly`)
const FEATURES = set('tattoo tattoos tattooed scar scars piercing piercings pierced glasses sunglasses eyeglasses limp freckles birthmark')
/** Said of a build with no doubt; ambiguous ones ("heavy", "big") need a person beside them. */
const BUILD = set('stocky heavyset heavy-set muscular lanky slender petite overweight chubby burly wiry build medium-build')
const BUILD_NEAR_PERSON = set('thin skinny slim heavy big large small fat')
const HEIGHT_NEAR_PERSON = set('tall short')
const HEIGHT_WORDS = set('medium-height average-height')
const VEHICLE = set(`
  car van minivan truck pickup suv sedan hatchback coupe motorcycle motorbike bike bicycle e-bike ebike scooter moped
  vehicle`)
/** Makes and models: a vehicle wherever they stand. */
const VEHICLE_MAKES = set(`
  honda toyota ford chevy chevrolet nissan hyundai kia bmw mercedes audi tesla subaru dodge jeep volkswagen vw volvo
  mazda lexus prius civic camry corolla accord f-150`)
const PLATES = set('plate plates license-plate licence-plate')
/** Words before a vehicle that say it is the person's ("in a", "drove a", "his"). */
const VEHICLE_OWNER = set('in on driving drove drives driven riding rode rides his her their from')
const VEHICLE_ADJ = set('a an the old new beat-up tinted rusty dented small big large two-door four-door')

const SUSPICIOUS = set(`
  suspicious suspiciously sketchy shady creepy dodgy strange weird unfamiliar unknown out-of-place belong casing
  loitering loiter loiters loitered lurking lurk lurks lurked prowling prowler prowlers no-good`)

/**
 * Verbs of doing; verbForms makes their inflections but not the bare verb, which is as often
 * the poster's own ("check your cameras", "on my walk").
 */
const ACTION_VERBS = `
  try open grab steal rob snatch shoplift pry force smash kick punch hit attack assault threaten fight push shove
  chase follow approach climb jump hop enter walk carry toss drop dump spray vandalize vandalise scratch slash cut
  burn knock bang pound peer peek check pull tamper jiggle rattle photograph film yell shout scream curse spit urinate
  expose harass grope touch beg offer sell hide duck crouch sneak trespass deliver pick stalk rummage search siphon
  remove unload load damage point wave block brandish aim fire crash feed`
/** Past forms and other inflections verbForms cannot make, and event words that say what happened. */
const ACTION_WORDS = set(`
  asking begging hit cut took taken taking takes broke broken breaking breaks stole stolen stealing fled fleeing threw thrown ran running rode
  ridden riding drove driven driving sped speeding hid hidden snuck went left leaving tried tries trying rang ringing
  keyed keying tagged tagging stopped fell fallen falling missing lost injured hurt bleeding unconscious collapsed
  racing raced dealing burglary robbery theft break-in mugging mugged carjacking shoplifting vandalism graffiti
  hit-and-run shooting shot stabbing stabbed assault fight fighting`)
/** After "walking", "driving"…: only being there ("walking around", "drove by"). */
const PRESENCE_PARTICLES = set('around about by past along down up back in on near slowly')
const MOVING = set('walks walked walking drove driving drives rides rode riding runs ran running went')
/** "looking into cars", "peering in windows". */
const LOOK = set('looks looked looking')
const LOOK_INTO = set('into in inside through under')

const ACTIONS: ReadonlySet<string> = (() => {
  const out = new Set(ACTION_WORDS)
  for (const v of ACTION_VERBS.trim().split(/\s+/)) for (const f of verbForms(v)) out.add(f)
  return out
})()

/** The regular inflections of a verb, generously (a form that is no word does no harm). */
function verbForms (v: string): string[] {
  const last = v.at(-1)!
  const stem = last === 'e' ? v.slice(0, -1) : v
  const forms = [`${v}s`, `${v}es`, `${stem}ed`, `${stem}ing`, `${v}${last}ed`, `${v}${last}ing`]
  if (last === 'y') forms.push(`${v.slice(0, -1)}ied`, `${v.slice(0, -1)}ies`)
  return forms
}

// ------------------------------------------------------------------ reading

/** Two-word phrases read as one token. */
const PHRASES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(african|afro|native|latin|south|east|middle|pacific|puerto|eastern)[ -](american|asian|eastern|islander|rican|european)s?\b/g, '$1-$2'],
  [/\bmixed[ -]race\b/g, 'mixed-race'],
  [/\bout of place\b/g, 'out-of-place'],
  [/\bup to no good\b/g, 'no-good'],
  [/\b(licen[cs]e) plates?\b/g, '$1-plate'],
  [/\b(medium|average|slim|athletic) (build|height|frame)\b/g, '$1-$2'],
  [/\b(shaved) head\b/g, 'shaved-head'],
  [/\b(buzz|crew) cut\b/g, '$1-cut'],
  [/\bhit and run\b/g, 'hit-and-run'],
  [/\bbreak in\b/g, 'break-in'],
  [/\b(dark|light|fair|olive|pale|brown|black|white) skin tone\b/g, '$1 skin-tone']
]

const HEIGHT = [
  /\b[4-7] ?(?:'|ft\b|feet\b|foot\b|-foot\b)(?: ?(?:1[01]|[0-9])(?: ?(?:"|''|in\b|inches\b))?)?/g,
  /\b(?:four|five|six|seven)[ -](?:foot|feet|ft)\b/g,
  /\b1[4-9][0-9] ?cm\b/g
]

function normalize (text: string): string {
  let s = text.slice(0, MAX_TEXT_BYTES).normalize('NFKC').toLowerCase()
    .replace(/[\u2018\u2019\u02bc\u00b4`\u2032]/g, '\'')
    .replace(/[\u201c\u201d\u2033]/g, '"')
    .replace(/[\u2010-\u2015]/g, '-')
  for (const [re, to] of PHRASES) s = s.replace(re, to)
  return s
}

/** Reads a text (see FairReading); `suspiciousKind` when the post's kind itself says suspicious. */
export function readPost (text: string, suspiciousKind = false): FairReading {
  const s = normalize(text)
  const descriptors = new Map<string, DescriptorCategory>()
  for (const re of HEIGHT) for (const m of s.matchAll(re)) descriptors.set(m[0].replace(/\s+/g, ''), 'height')
  const tokens = s.replace(/([a-z0-9])'s\b/g, '$1 \'s').match(/[a-z0-9]+(?:['/-][a-z0-9]+)*|'s|[.,;:!?()"]/g) ?? []
  const at = (i: number): string => tokens[i] ?? '.'

  let person = false
  let suspicious = suspiciousKind
  const race = new Set<string>()
  const actions = new Set<string>()

  /** Whether a person noun follows position i, over words that may stand between. */
  const personAfter = (i: number): boolean => {
    for (let j = i + 1; j <= i + 3; j++) {
      if (PERSON_NOUNS.has(at(j)) || RACE_PLURALS.has(at(j))) return true
      if (!PERSON_ADJ.has(at(j)) && !COLOUR_RACE.has(at(j)) && !ETHNIC.has(at(j)) && !at(j).endsWith('-looking') && at(j) !== '"') return false
    }
    return false
  }
  /** Whether a person noun or pronoun is among the `n` words before position i. */
  const personBefore = (i: number, n: number): boolean => {
    for (let j = Math.max(0, i - n); j < i; j++) if (SUBJECT.has(at(j))) return true
    return false
  }
  /** "he was (probably) black": a person, a copula, hedges, then position i. */
  const predicateOfPerson = (i: number): boolean => {
    let j = i - 1
    while (j >= 0 && HEDGE.has(at(j)) && j > i - 4) j--
    return COPULA.has(at(j)) && SUBJECT.has(at(j - 1))
  }

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    const next = at(i + 1)
    const prev = i > 0 ? at(i - 1) : '.'
    if (PERSON.has(t)) person = true
    if (SUSPICIOUS.has(t)) suspicious = true

    // Race and ethnicity.
    const looking = t.endsWith('-looking') ? t.slice(0, -'-looking'.length) : undefined
    if (RACE_PLURALS.has(t) || RACE_SHORTHAND.has(t)) race.add(t)
    else if (looking !== undefined && (COLOUR_RACE.has(looking) || ETHNIC.has(looking))) race.add(t)
    else if (COLOUR_RACE.has(t) || ETHNIC.has(t)) {
      const ethnic = ETHNIC.has(t)
      // "two men, both black," / "male, white, about 30": an aside about a person just named.
      const aside = BOUNDARY.has(next) && (prev === ',' || prev === 'both' || prev === 'all') && personBefore(i, 3)
      if (personAfter(i) || RACE_CONTEXT.has(next) || aside || (BOUNDARY.has(next) && predicateOfPerson(i)) ||
        (next === 'looking' && (personAfter(i + 1) || BOUNDARY.has(at(i + 2)))) ||
        (ethnic && BOUNDARY.has(next) && (DETERMINER.has(prev) || HEDGE.has(prev) || LOOK.has(prev) || prev === 'appeared' || prev === 'seemed'))) race.add(t)
    }
    if (SKIN_TONE.has(t) && SKIN.has(next)) race.add(`${t} ${next}`)
    const compound = /^([a-z]+)-(skinned|complexioned)$/.exec(t)
    if (compound !== null && SKIN_TONE.has(compound[1]!)) race.add(t)
    if (t === 'of' && (next === 'color' || next === 'colour') && personBefore(i, 2)) race.add(`of ${next}`)

    // Descriptors.
    const singular = t.length > 3 && t.endsWith('s') ? t.slice(0, -1) : t
    if (CLOTHING.has(t) || CLOTHING.has(singular)) descriptors.set(CLOTHING.has(singular) ? singular : t, 'clothing')
    else if (HAIR.has(t) || t.endsWith('-haired') || t === 'haired') descriptors.set(t, 'hair')
    else if (FEATURES.has(t)) descriptors.set(t, 'features')
    else if (BUILD.has(t)) descriptors.set(t, 'build')
    else if (HEIGHT_WORDS.has(t)) descriptors.set(t, 'height')
    else if (BUILD_NEAR_PERSON.has(t) || HEIGHT_NEAR_PERSON.has(t)) {
      const saidOfPerson = personAfter(i) || next === 'build' || next === 'frame' ||
        (personBefore(i, 4) && (PUNCT.has(next) || next === 'and' || next === 'with' || next === 'but'))
      if (saidOfPerson) descriptors.set(t, HEIGHT_NEAR_PERSON.has(t) ? 'height' : 'build')
    } else if (VEHICLE_MAKES.has(t) || PLATES.has(t)) descriptors.set(PLATES.has(t) ? 'plate' : t, 'vehicle')
    else if (VEHICLE.has(t) || VEHICLE.has(singular)) {
      // The person's vehicle ("in a white van"), not one they were near ("trying car doors").
      let j = i - 1
      let described = false
      while (j >= 0 && j > i - 5 && (VEHICLE_ADJ.has(at(j)) || COLOURS.has(at(j)) || VEHICLE_MAKES.has(at(j)))) {
        if (COLOURS.has(at(j)) || VEHICLE_MAKES.has(at(j)) || (at(j) !== 'a' && at(j) !== 'an' && at(j) !== 'the')) described = true
        j--
      }
      if (described || VEHICLE_OWNER.has(at(j))) descriptors.set(VEHICLE.has(singular) ? singular : t, 'vehicle')
    } else if ((t === 'dressed' || t === 'wearing' || t === 'in') && (COLOURS.has(next) || (next === 'all' && COLOURS.has(at(i + 2))))) {
      // "dressed in black", "in all white": clothing, unless a garment or a person follows and says so itself.
      const c = next === 'all' ? i + 2 : i + 1
      const after = at(c + 1)
      const colour = at(c)
      if (!CLOTHING.has(after) && !CLOTHING.has(after.slice(0, -1)) && !PERSON.has(after) && !VEHICLE.has(after) && !HAIR.has(after)) {
        descriptors.set(`in ${colour}`, 'clothing')
      }
    }

    // Actions.
    if (LOOK.has(t) && LOOK_INTO.has(next)) actions.add(`${t} ${next}`)
    else if (MOVING.has(t) && PRESENCE_PARTICLES.has(next)) continue
    else if (ACTIONS.has(t)) actions.add(t)
  }
  if (race.size > 0) person = true
  return {
    person,
    suspicious,
    race: [...race],
    actions: [...actions],
    descriptors: [...descriptors].map(([term, category]) => ({ term, category }))
  }
}

/** The screens pl-app loads after the feed's first paint, or when first shown (see loadScreens there). */
import './pl-invite-card.ts'
import './pl-settings.ts'
import './pl-admin.ts'
import './pl-backup.ts'
import './pl-map.ts'
import './pl-agency-welcome.ts'

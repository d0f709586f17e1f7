import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

/**
 * The gettext domain of this extension's strings: its Python package's name, which is
 * where a language pack looks for them.
 */
export const TRANSLATION_DOMAIN = 'jupyterlab_jobs';

/** The strings as written (English), for helpers called without a translation. */
export const ENGLISH: TranslationBundle =
  nullTranslator.load(TRANSLATION_DOMAIN);

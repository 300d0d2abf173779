/**
 * Counters and gauges for a relay, rendered as Prometheus text (exposition format 0.0.4).
 * Labels are fixed small sets (reason codes, directions), never peer ids or topics, so the
 * metrics reveal nothing about who uses the relay.
 */
export class Metrics {
  private readonly counters = new Map<string, { help: string, values: Map<string, number> }>()
  private readonly gauges = new Map<string, { help: string, read: () => GaugeValue }>()

  counter (name: string, help: string): void {
    if (!this.counters.has(name)) this.counters.set(name, { help, values: new Map() })
  }

  inc (name: string, labels: Record<string, string> = {}, by = 1): void {
    const c = this.counters.get(name)
    if (c === undefined) throw new Error(`unknown counter ${name}`)
    const key = labelString(labels)
    c.values.set(key, (c.values.get(key) ?? 0) + by)
  }

  get (name: string, labels: Record<string, string> = {}): number {
    return this.counters.get(name)?.values.get(labelString(labels)) ?? 0
  }

  /** `read` gives one value, or one per label set (`[{ protocol: 'push' }, 3]`…). */
  gauge (name: string, help: string, read: () => GaugeValue): void {
    this.gauges.set(name, { help, read })
  }

  render (): string {
    const lines: string[] = []
    for (const [name, c] of this.counters) {
      lines.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`)
      if (c.values.size === 0) lines.push(`${name} 0`)
      for (const [labels, v] of c.values) lines.push(`${name}${labels} ${v}`)
    }
    for (const [name, g] of this.gauges) {
      lines.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`)
      const value = g.read()
      if (typeof value === 'number') lines.push(`${name} ${value}`)
      else for (const [labels, v] of value) lines.push(`${name}${labelString(labels)} ${v}`)
    }
    return lines.join('\n') + '\n'
  }
}

export type GaugeValue = number | Array<[Record<string, string>, number]>

function labelString (labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort()
  if (keys.length === 0) return ''
  return '{' + keys.map(k => `${k}="${labels[k]!.replace(/["\\\n]/g, '_')}"`).join(',') + '}'
}

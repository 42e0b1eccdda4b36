#!/usr/bin/env python3
# One-off converter used to move the connector specs from code into spec.toml (issue 24): writes
# src/connectors/<folder>/spec.toml from `tributary connectors list --json`, with options that
# several specs of a folder share as [[groups.NAME]] (chosen by hand for the s3 folder:
# fixed_groups). Used last for the eight s3-family specs: convert, check that `tributary docs` and
# `connectors list --json` give the same bytes, then cut spec.cpp down to its checks.
import json, sys, tomllib, re, os
# usage: tributary connectors list --json > specs.json
#        scripts/spec_to_toml.py specs.json src/connectors [folder ...]
specs = json.load(open(sys.argv[1]))
only = set(sys.argv[3:])
where = {('source','file'):('file','source'),('sink','file'):('file','sink'),
 ('sink','http'):('http','sink'),('source','http_poll'):('http','poll'),('source','webhook'):('http','webhook'),
 ('source','kafka'):('kafka','source'),('sink','kafka'):('kafka','sink'),
 ('source','mqtt'):('mqtt','source'),('sink','mqtt'):('mqtt','sink'),
 ('sink','null'):('null','sink'),('source','random'):('random','source'),('sink','stdout'):('stdout','sink'),
 ('source','postgres'):('postgres','source'),('sink','postgres'):('postgres','sink'),
 ('sink','s3'):('s3','s3'),('source','s3_source'):('s3','s3_source'),
 ('sink','gcs'):('s3','gcs'),('source','gcs_source'):('s3','gcs_source'),
 ('sink','azure_blob'):('s3','azure_blob'),('source','azure_blob_source'):('s3','azure_blob_source'),
 ('sink','hdfs'):('s3','hdfs'),('source','hdfs_source'):('s3','hdfs_source')}
W=98
def esc(s):
    out=''
    for ch in s:
        if ch=='\\': out+='\\\\'
        elif ch=='"': out+='\\"'
        elif ch=='\n': out+='\\n'
        elif ch=='\t': out+='\\t'
        elif ord(ch)<0x20 or ord(ch)==0x7f: out+='\\u%04x'%ord(ch)
        else: out+=ch
    return out
def wrap_line(e):
    # e: escaped text without newlines; split at spaces into chunks of <= W
    chunks=[]
    while len(e)>W:
        cut=e.rfind(' ',0,W)
        if cut<=0: break
        # include all following spaces in this chunk
        j=cut
        while j<len(e) and e[j]==' ': j+=1
        if j>=len(e): break
        # must not split an escape: a chunk ending with odd backslashes before the space? space is not part of escape
        chunks.append(e[:j]); e=e[j:]
    chunks.append(e)
    return chunks
def tstr(key, s):
    one = f'{key} = "{esc(s)}"'
    if '\n' not in s and len(one)<=100: return one
    lines=s.split('\n')
    body=[]
    for ln in lines:
        e=''.join(('\\\\' if c=='\\' else '\\"' if c=='"' else '\\t' if c=='\t' else ('\\u%04x'%ord(c) if ord(c)<0x20 or ord(c)==0x7f else c)) for c in ln)
        ch=wrap_line(e)
        body.append(' \\\n'.join(c.rstrip(' ')+(' ' if c.endswith(' ') else '') for c in ch) if False else '\\\n'.join(ch))
    return f'{key} = """\\\n' + '\n'.join(body) + '"""'
def lit_ml(key,s):
    assert "'''" not in s and all(c in '\n\t' or ord(c)>=0x20 for c in s), key
    return f"{key} = '''\n{s}'''"
def num(x):
    return str(int(x)) if float(x).is_integer() and abs(x)<1e15 else repr(x)
def canon(v):
    if isinstance(v,bool): return 'true' if v else 'false'
    if isinstance(v,str): return json.dumps(v, ensure_ascii=False)
    if isinstance(v,int): return str(v)
    if isinstance(v,float):
        t='%.17g'%v
        if not re.search('[.eEn]',t): t+='.0'
        return t
    if isinstance(v,list): return '['+', '.join(canon(x) for x in v)+']'
    raise ValueError(v)
def emit_opts(opts, hdr, out):
    for o in opts:
        out.append(''); out.append(f'[[{hdr}]]')
        if 'group' in o:
            out.append(f'group = "{o["group"]}"'); continue
        out.append(f'name = "{esc(o["name"])}"')
        if o['type']!='string': out.append(f'type = "{o["type"]}"')
        if o['doc']: out.append(tstr('doc',o['doc']))
        if o['default'] is not None:
            d=o['default']
            v=tomllib.loads('x = '+d)['x']
            assert canon(v)==d, (o['name'], d, canon(v))
            out.append('default = '+d)
        opt = o.get('optional')
        if opt is None:  # older JSON without the field: exact except for plain tables
            opt = not o['required'] and o['default'] is None and o['type'] != 'table'
            if o['type'] == 'table': print('note: check optional of table', o['name'], file=sys.stderr)
        if opt: out.append('optional = true')
        if o.get('choices'): out.append('choices = ['+', '.join(json.dumps(c) for c in o['choices'])+']')
        if 'min' in o: out.append('min = '+num(o['min']))
        if 'max' in o: out.append('max = '+num(o['max']))
        if o['type']=='list' and o.get('element','string')!='string': out.append(f'element = "{o["element"]}"')
        if o.get('deprecated_aliases'): out.append('aliases = ['+', '.join(json.dumps(c) for c in o['deprecated_aliases'])+']')
        if o.get('advanced'): out.append('advanced = true')
        if o.get('requires_feature'): out.append(f'requires_feature = "{o["requires_feature"]}"')
        if o.get('children'): emit_opts(o['children'], hdr+'.children', out)
names={'bootstrap_servers':'connection','protocol_version':'session','connection_string':'connection',
       'endpoint':'endpoint','bearer_token':'client','type':'auth'}
# Folders whose groups are chosen by hand (a greedy search makes groups of groups there): name ->
# the option names of the run. A spec uses a group where its run of options is the same, option
# for option, as the first run found.
fixed_groups={'s3':[('s3_access',['endpoint','path_style','access_key_id','secret_access_key','session_token','profile']),
 ('connection',['connect_timeout','tls_ca_file','tls_danger_accept_invalid_certs']),
 ('gcs_store',['bucket','endpoint','credentials_file','token']),
 ('azure_store',['container','endpoint','account_name','account_key','sas_token','connection_string']),
 ('hdfs_store',['endpoint','directory','user','delegation_token']),
 ('object_names',['prefix','path_template','file_rotation','max_file_size','max_messages_per_file','max_file_age','output_format','include_metadata','include_headers']),
 ('sink_formats',['verbose_logging','parquet_schema','parquet_compression','parquet_row_group_size','avro_schema','avro_codec']),
 ('reading',['prefix','start_after','pattern','poll_interval','format','custom_delimiter','max_record_bytes','max_batch_bytes','max_batch_messages','read_chunk_size','after_read','move_prefix','verbose_logging','max_row_group_bytes','max_object_bytes'])]}
def fixed_group_folder(folder_specs, fixed):
    groups={}
    for name,run in fixed:
        for s in folder_specs:
            opts=s['options']
            names_=[o.get('name') for o in opts]
            for a in range(len(opts)-len(run)+1):
                if names_[a:a+len(run)]!=run: continue
                if name not in groups: groups[name]=opts[a:a+len(run)]
                if [json.dumps(o,sort_keys=True) for o in opts[a:a+len(run)]]==[json.dumps(o,sort_keys=True) for o in groups[name]]:
                    opts[a:a+len(run)]=[{'group':name}]
                break
    return groups
def group_folder(folder_specs):
    groups={}
    changed=True
    while changed:
        lists=[]
        def collect(opts):
            lists.append(opts)
            for o in opts: collect(o.get('children',[]))
        for s in folder_specs: collect(s['options'])
        for g in groups.values(): collect(g)
        changed=False
        best=None
        for i in range(len(lists)):
            for j in range(i+1,len(lists)):
                A=[json.dumps(o,sort_keys=True) for o in lists[i]]; B=[json.dumps(o,sort_keys=True) for o in lists[j]]
                for a in range(len(A)):
                    for b in range(len(B)):
                        n=0
                        while a+n<len(A) and b+n<len(B) and A[a+n]==B[b+n] and 'group' not in lists[i][a+n]: n+=1
                        if n>=2 and (best is None or n>best[0]): best=(n,i,j,a,b)
        if best:
            n,i,j,a,b=best
            run=lists[i][a:a+n]
            name=names.get(run[0]['name'], run[0]['name'])
            k=2
            while name in groups: name=names.get(run[0]['name'], run[0]['name'])+str(k); k+=1
            groups[name]=run
            lists[i][a:a+n]=[{'group':name}]
            lists[j][b:b+n]=[{'group':name}]
            changed=True
    return groups
files={}
folder_groups={}
for f in sorted(set(v[0] for v in where.values())):
    if not any(where.get((s['kind'],s['name']),('',))[0]==f for s in specs): continue
    if f in fixed_groups:
        folder_groups[f]=fixed_group_folder([s for s in specs if where.get((s['kind'],s['name']),('',))[0]==f], fixed_groups[f]); continue
    folder_groups[f]=group_folder([s for s in specs if where[(s['kind'],s['name'])][0]==f])
order=list(where.keys())
for s in sorted(specs, key=lambda s: order.index((s['kind'],s['name'])) if (s['kind'],s['name']) in where else -1):
    if (s['kind'],s['name']) not in where: continue
    folder,id=where[(s['kind'],s['name'])]
    out=files.setdefault(folder,[])
    out.append('');out.append(f'[{id}]')
    out.append(f'name = "{s["name"]}"'); out.append(f'kind = "{s["kind"]}"')
    if s.get('guarantee'): out.append(tstr('guarantee',s['guarantee']))
    out.append(tstr('summary',s['summary']))
    out.append(tstr('description',s['description']))
    if s['idempotent']: out.append('idempotent = true')
    if s['plugin_aliases']: out.append('plugin_aliases = ['+', '.join(json.dumps(c) for c in s['plugin_aliases'])+']')
    if s['example']: out.append(lit_ml('example',s['example']))
    emit_opts(s['options'], id+'.options', out)
for f,gs in folder_groups.items():
    for name,run in gs.items():
        files[f].append(''); files[f].append(f'# Options several of the specs above share (`group = "{name}"`).')
        emit_opts(run,'groups.'+name,files[f])
root=sys.argv[2]
for folder,lines in files.items():
    if only and folder not in only: continue
    text='# The '+folder+' connector\'s specs as data: prose, example and option declarations (read by\n# config::builtin_spec; the layout is in docs/adding-a-connector.md). spec.cpp keeps the checks.\n'+'\n'.join(lines).lstrip('\n')+'\n'
    # the header lines then a blank line
    text=text.replace('spec.cpp keeps the checks.\n','spec.cpp keeps the checks.\n\n',1)
    # verify round trip of strings
    d=tomllib.loads(text)
    open(os.path.join(root,folder,'spec.toml'),'w').write(text)
print('ok', {k:len(v) for k,v in files.items()})
